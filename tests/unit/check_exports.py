#!/usr/bin/python3
"""check_exports: libhpoclient.so exports its public API and nothing else.

usage: check_exports.py LIB.so --public H... --required H...

Every symbol `nm -D --defined-only LIB.so` lists must be a function declared in one of the
--public headers (the headers installed with the library); every function declared in a
--required header (hpo_client.h, hpo_error.h) must be exported, or a program using the header
would not link."""
import argparse
import os
import re
import subprocess
import sys

C_WORDS = {
    "if", "for", "while", "switch", "return", "sizeof", "void", "int", "char", "long", "short",
    "unsigned", "signed", "double", "float", "bool", "const", "struct", "enum", "union",
    "typedef", "static", "extern", "inline", "__attribute__", "_Static_assert",
}


def declared_functions(path):
    """The names of the functions a header declares: identifiers followed by '(' at the top level
    (outside parentheses), with comments, preprocessor lines and keywords left out."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^\s*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    names = set()
    depth = 0
    for m in re.finditer(r"[A-Za-z_]\w*(?=\s*\()|[()]", text):
        tok = m.group(0)
        if tok == "(":
            depth += 1
        elif tok == ")":
            depth -= 1
        elif depth == 0 and tok not in C_WORDS:
            names.add(tok)
    return names


def exported_symbols(lib):
    nm = os.environ.get("NM", "nm")
    out = subprocess.run([nm, "-D", "--defined-only", lib], check=True, capture_output=True,
                         text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2].split("@")[0]
        if kind == "A":  # a version node's name (a version script with named nodes), not code
            continue
        syms[name] = kind
    return syms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    ap.add_argument("--public", nargs="+", required=True)
    ap.add_argument("--required", nargs="+", default=[])
    a = ap.parse_args()

    public = {}
    for h in a.public:
        for name in declared_functions(h):
            public.setdefault(name, os.path.basename(h))
    required = {}
    for h in a.required:
        for name in declared_functions(h):
            required.setdefault(name, os.path.basename(h))
    exported = exported_symbols(a.lib)

    bad = sorted(set(exported) - set(public))
    missing = sorted(set(required) - set(exported))
    for name in bad:
        print(f"{os.path.basename(a.lib)} exports {name} ({exported[name]}), which no public "
              f"header declares: hide it (worker/libhpoclient/libhpoclient.map)")
    for name in missing:
        print(f"{required[name]} declares {name}, which {os.path.basename(a.lib)} does not "
              f"export: add it to worker/libhpoclient/libhpoclient.map")
    if not exported:
        print(f"{a.lib} exports nothing: is it the shared library?")
        return 1
    if bad or missing:
        return 1
    print(f"{len(exported)} exported symbols, all declared in the public headers; "
          f"{len(required)} required ones all exported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
