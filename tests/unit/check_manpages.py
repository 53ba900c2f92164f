#!/usr/bin/python3
"""check_manpages: the manual pages (man/) say what the programs and the library really offer.

usage: check_manpages.py --man-dir DIR --server BIN --worker BIN --cli BIN --header hpo_client.h

- every long flag and every HPO_ variable that `hpo-server --help` (and `hpo-server token`),
  `hpo-worker --help`, `hpo --help` and `hpo help COMMAND` (each command `hpo --help` lists) print
  is in the program's page, and so is each command of hpo;
- every flag a program's page names (outside its EXAMPLES) is one its help shows (a flag removed
  from a program must leave its page too);
- every function hpo_client.h declares is named in libhpoclient.3;
- each page renders with `groff -man -Tutf8 -ww` without a warning (and a broken copy does warn,
  so the check can fail)."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
ENV = re.compile(r"\bHPO_[A-Z0-9_]*[A-Z0-9]_?")
ALWAYS = {"--help"}  # every program takes it, not all of them list it


def help_text(argv, want_rc=0):
    """What argv prints (stdout and stderr: some usages go to stderr), checked for its exit code."""
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if p.returncode != want_rc:
        sys.exit("check_manpages: %s exited %d, expected %d:\n%s%s"
                 % (" ".join(argv), p.returncode, want_rc, p.stdout, p.stderr))
    return p.stdout + p.stderr


def page_text(path):
    """A page's roff source as plain text: \\- is '-', font and other escapes are dropped."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    src = "\n".join(line for line in src.splitlines() if not line.startswith('.\\"'))
    src = src.replace("\\-", "-").replace("\\e", "\\")
    src = re.sub(r"\\f(?:\[[^\]]*\]|\(..|.)", "", src)
    src = re.sub(r"\\[&%]", "", src)
    src = re.sub(r"\\\(..", " ", src)
    return src


def flags_of(text):
    return set(FLAG.findall(text))


def has_flag(page, flag):
    return re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![a-z0-9-])", page) is not None


def check_program(name, page_path, helps, problems):
    page = page_text(page_path)
    shown = set()
    for text in helps:
        shown |= flags_of(text)
        for var in set(ENV.findall(text)):
            if var not in page:
                problems.append("%s: %s (in its help) is not in %s" % (name, var, page_path))
    for flag in sorted(shown):
        if not has_flag(page, flag):
            problems.append("%s: %s (in its help) is not in %s" % (name, flag, page_path))
    # the examples may show a training command's own flags
    described = re.sub(r"^\.SH EXAMPLES\n.*?(?=^\.SH |\Z)", "", page, flags=re.S | re.M)
    for flag in sorted(flags_of(described) - shown - ALWAYS):
        problems.append("%s: %s is in %s but not in its help" % (name, flag, page_path))
    return shown


def cli_commands(main_help):
    """The commands of `hpo --help`: the lines of its Commands: section, one or two words."""
    section = re.search(r"^Commands:\n(.*?)(?:\n\n|\Z)", main_help, re.S | re.M)
    if not section:
        sys.exit("check_manpages: no Commands: section in hpo --help")
    cmds = []
    for line in section.group(1).splitlines():
        m = re.match(r"  (\S+(?: [a-z]+)?)(?:  +|$)", line)
        if m:
            cmds.append(m.group(1))
    if not cmds:
        sys.exit("check_manpages: hpo --help lists no commands")
    return cmds


def header_functions(path):
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
    return sorted(set(re.findall(r"\b(hpo_client_\w+)\s*\(", text)))


def groff_warnings(path):
    p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path], capture_output=True,
                       text=True, timeout=30)
    return (p.stderr.strip() or ("groff exited %d" % p.returncode if p.returncode else ""))


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--man-dir", "--server", "--worker", "--cli", "--header"):
        ap.add_argument(opt, required=True)
    a = ap.parse_args()
    pages = {n: os.path.join(a.man_dir, n)
             for n in ("hpo-server.8", "hpo-worker.1", "hpo.1", "libhpoclient.3")}
    problems = []

    check_program("hpo-server", pages["hpo-server.8"],
                  [help_text([a.server, "--help"]), help_text([a.server, "token"], want_rc=2)],
                  problems)
    check_program("hpo-worker", pages["hpo-worker.1"], [help_text([a.worker, "--help"])],
                  problems)

    main_help = help_text([a.cli, "--help"])
    cmds = cli_commands(main_help)
    cli_page = page_text(pages["hpo.1"])
    for cmd in cmds:
        if not re.search(r"(?<![\w-])" + re.escape(cmd) + r"\b", cli_page):
            problems.append("hpo: the command '%s' is not in %s" % (cmd, pages["hpo.1"]))
    check_program("hpo", pages["hpo.1"],
                  [main_help] + [help_text([a.cli, "help"] + c.split()) for c in cmds], problems)

    lib_page = page_text(pages["libhpoclient.3"])
    functions = header_functions(a.header)
    if len(functions) < 10:
        problems.append("only %d functions found in %s" % (len(functions), a.header))
    for fn in functions:
        if not re.search(r"\b" + fn + r"\b", lib_page):
            problems.append("libhpoclient: %s (in %s) is not in %s"
                            % (fn, a.header, pages["libhpoclient.3"]))

    if not shutil.which("groff"):
        problems.append("groff is not installed (Debian: groff-base; bash deploy/install-deps.sh)")
    else:
        for path in pages.values():
            w = groff_warnings(path)
            if w:
                problems.append("groff warns on %s:\n%s" % (path, w))
        with tempfile.TemporaryDirectory() as tmp:
            broken = os.path.join(tmp, "broken.1")
            shutil.copy(pages["hpo-worker.1"], broken)
            with open(broken, "a", encoding="utf-8") as f:
                f.write(".XQ not a macro\n")
            if not groff_warnings(broken):
                problems.append("groff -ww found nothing wrong in a page with an unknown macro: "
                                "this check cannot fail")

    if problems:
        print("\n".join(problems))
        return 1
    print("man pages: %d hpo commands, %d library functions, %d pages rendered without warnings"
          % (len(cmds), len(functions), len(pages)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
