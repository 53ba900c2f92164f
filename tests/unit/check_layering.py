#!/usr/bin/python3
"""check_layering: the include rules that keep the server's layers apart.

usage: check_layering.py SOURCE_ROOT

- server/http/ (decode, call the service, answer) includes nothing of server/store/ (any file of
  that folder, or a path through it) and not libpq-fe.h: no SQL in handlers.
- server/algo/ (samplers and pruners, pure) includes quoted headers of common/core/ and of
  server/algo/ only, and system headers of the C library (ISO C, libm) or the compiler's
  intrinsics only: no jansson, libpq, curl, microhttpd, POSIX I/O.

Each violation is printed as file:line: why; the exit status is 1 when there is one."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')

# ISO C11 headers: libc and libm, nothing with I/O beyond stdio's formatting.
C_LIBRARY = {
    "assert.h", "complex.h", "ctype.h", "errno.h", "fenv.h", "float.h", "inttypes.h",
    "iso646.h", "limits.h", "locale.h", "math.h", "setjmp.h", "signal.h", "stdalign.h",
    "stdarg.h", "stdatomic.h", "stdbool.h", "stddef.h", "stdint.h", "stdio.h", "stdlib.h",
    "stdnoreturn.h", "string.h", "tgmath.h", "threads.h", "time.h", "uchar.h", "wchar.h",
    "wctype.h",
}
# The compiler's own SIMD headers (emmintrin.h, immintrin.h, arm_neon.h): code, no library.
INTRINSICS = re.compile(r"^(?:[a-z0-9]*intrin\.h|arm_neon\.h|arm_sve\.h)$")
LIBPQ = re.compile(r"(?:^|/)(?:libpq-fe\.h|libpq/.*|postgresql/.*)$")


def sources(folder):
    for name in sorted(os.listdir(folder)):
        if name.endswith((".c", ".h")):
            yield os.path.join(folder, name)


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield lineno, m.group(1) == '"', m.group(2).strip()


def check_http(root, store_files, problems):
    store_dir = os.path.realpath(os.path.join(root, "server", "store"))
    for path in sources(os.path.join(root, "server", "http")):
        for lineno, quoted, name in includes(path):
            here = os.path.relpath(path, root)
            base = os.path.basename(name)
            resolved = os.path.realpath(os.path.join(os.path.dirname(path), name))
            if LIBPQ.search(name):
                problems.append(f"{here}:{lineno}: includes {name}: no libpq in server/http "
                                f"(handlers call the service, not the database)")
            elif (base in store_files or "store/" in name
                  or os.path.dirname(resolved) == store_dir):
                problems.append(f"{here}:{lineno}: includes {name} of server/store: the HTTP "
                                f"layer reaches the store only through hpo_service.h")


def check_algo(root, problems):
    algo = os.path.join(root, "server", "algo")
    allowed_dirs = {os.path.realpath(algo), os.path.realpath(os.path.join(root, "common", "core"))}
    for path in sources(algo):
        here = os.path.relpath(path, root)
        for lineno, quoted, name in includes(path):
            if quoted:
                # quoted names are looked up next to the file, then in the include path: the
                # header must be one of server/algo/ or common/core/, by that name
                targets = [os.path.realpath(os.path.join(d, name)) for d in allowed_dirs]
                if not any(os.path.isfile(t) and os.path.dirname(t) in allowed_dirs
                           for t in targets):
                    problems.append(f"{here}:{lineno}: includes \"{name}\", which is not a header "
                                    f"of common/core/ or server/algo/: algo links only common "
                                    f"and libm")
            elif name not in C_LIBRARY and not INTRINSICS.match(name):
                problems.append(f"{here}:{lineno}: includes <{name}>, not a header of the C "
                                f"library: algo does no I/O and links only common and libm")


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    root = sys.argv[1]
    store_files = set(os.listdir(os.path.join(root, "server", "store")))
    problems = []
    check_http(root, store_files, problems)
    check_algo(root, problems)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) break the layering (tests/unit/check_layering.py)")
        return 1
    print("server/http and server/algo include only what their layers allow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
