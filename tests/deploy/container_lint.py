#!/usr/bin/python3
"""container_lint.py: the rules of deploy/container's Containerfiles and compose.yaml.

    python3 container_lint.py --version VERSION --source ROOT CONTAINERFILE...
    python3 container_lint.py --version VERSION --source ROOT --compose COMPOSE_YAML [--dir DIR]

Containerfiles: every FROM names an earlier stage or an image pinned to a tag other than latest
(ARG defaults resolved); every COPY --from names an earlier stage; every `apt-get install` has -y
and --no-install-recommends and its RUN removes /var/lib/apt/lists; the final stage has a USER
that is not root and an ENTRYPOINT in exec (JSON) form; every folder the top-level meson.build
always reads (its subdir() calls outside an if) is brought in by a COPY.
compose.yaml: every service has an image; a service that builds names an existing Containerfile
and the image that Containerfile makes (hpo-server:VERSION from server.Containerfile,
hpo-worker:VERSION from worker.Containerfile); every other image is built by some service of the
file or pinned to a tag; depends_on names services of the file with a known condition
(service_healthy only on a service with a healthcheck); named volumes are declared and every
declared one is used; the HPO_* variables given to an hpo image are ones its programs read (found
in ROOT's sources); a token file lies on a mounted volume; a published hpo-server port is the port
of its HPO_LISTEN. Build contexts are relative to DIR, by default the compose file's directory.
Prints one line per problem and exits 1 if there was any.
"""
import glob
import json
import os
import re
import sys

import yaml

CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
# which Containerfile makes which image, and where its programs' sources are
IMAGES = {
    "server.Containerfile": ("hpo-server", ["server/*.c", "server/*/*.c"]),
    "worker.Containerfile": ("hpo-worker", ["worker/hpo-worker/*.c", "worker/hpo-cli/*.c",
                                            "worker/libhpoclient/*.c"]),
}


def logical_lines(text):
    lines, cur = [], ""
    for raw in text.splitlines():
        s = raw.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        lines.append(cur)
        cur = ""
    if cur:
        lines.append(cur)
    return lines


def expand(text, args):
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), "\0"),
                  text)


def pinned(image):
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and not last.endswith(":latest")


def meson_subdirs(root):
    """The folders the top-level meson.build always reads (subdir() outside any if block)."""
    with open(os.path.join(root, "meson.build"), encoding="utf-8") as f:
        return re.findall(r"^subdir\('([^']+)'\)", f.read(), re.M)


def lint_containerfile(path, root):
    problems = []
    copied = set()
    with open(path, encoding="utf-8") as f:
        lines = logical_lines(f.read())
    global_args, stages = {}, []
    final_user, entrypoint = None, None
    for line in lines:
        instr, _, rest = line.partition(" ")
        instr, rest = instr.upper(), rest.strip()
        if instr == "ARG":
            name, _, default = rest.partition("=")
            if not stages:
                global_args[name] = default.strip('"')
        elif instr == "FROM":
            words = rest.split()
            words = [w for w in words if not w.startswith("--")]
            image = expand(words[0], global_args)
            if "\0" in image:
                problems.append(f"{path}: FROM {words[0]}: an ARG without a default")
            elif image not in stages and not pinned(image):
                problems.append(f"{path}: FROM {image} is not pinned to a tag (other than latest)")
            stages.append(words[2] if len(words) >= 3 and words[1].upper() == "AS" else
                          str(len(stages)))
            final_user, entrypoint = None, None
        elif instr in ("COPY", "ADD"):
            m = re.search(r"--from=(\S+)", rest)
            if m and m.group(1) not in stages[:-1]:
                problems.append(f"{path}: COPY --from={m.group(1)}: no such earlier stage")
            if not m:
                copied.update(w.rstrip("/") for w in rest.split()[:-1] if not w.startswith("--"))
        elif instr == "RUN":
            if re.search(r"apt-get\s+(-\S+\s+)*install", rest):
                if "--no-install-recommends" not in rest:
                    problems.append(f"{path}: apt-get install without --no-install-recommends")
                if not re.search(r"install\s[^&;]*(-y\b|--yes|--assume-yes)", rest):
                    problems.append(f"{path}: apt-get install without -y")
                if "rm -rf /var/lib/apt/lists" not in rest:
                    problems.append(f"{path}: a RUN with apt-get install does not remove "
                                    "/var/lib/apt/lists")
        elif instr == "USER":
            final_user = rest.split(":")[0]
        elif instr == "ENTRYPOINT":
            entrypoint = rest
    if not stages:
        problems.append(f"{path}: no FROM")
    for sub in meson_subdirs(root):
        if sub not in copied and sub.split("/")[0] not in copied:
            problems.append(f"{path}: meson.build reads {sub}/ but no COPY brings it in")
    if final_user is None:
        problems.append(f"{path}: the final stage has no USER (it would run as root)")
    elif final_user in ("root", "0"):
        problems.append(f"{path}: the final stage's USER is root")
    if entrypoint is None:
        problems.append(f"{path}: the final stage has no ENTRYPOINT")
    else:
        try:
            ok = isinstance(json.loads(entrypoint), list)
        except ValueError:
            ok = False
        if not ok:
            problems.append(f"{path}: ENTRYPOINT {entrypoint} is not in exec form "
                            "(a JSON list)")
    return problems


def env_names(root, patterns):
    names = set()
    for pattern in patterns:
        for src in glob.glob(os.path.join(root, pattern)):
            with open(src, encoding="utf-8") as f:
                names |= set(re.findall(r'"(HPO_[A-Z0-9_]*[A-Z0-9])"', f.read()))
    return names


def as_dict(env):
    if isinstance(env, list):
        return dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return dict(env or {})


def lint_compose(path, version, root, base):
    problems = []
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    services = doc.get("services") or {}
    declared = set((doc.get("volumes") or {}).keys())
    used = set()
    known_env = {IMAGES[k][0]: env_names(root, IMAGES[k][1]) for k in IMAGES}
    built = {}
    for name, svc in services.items():
        build = svc.get("build")
        if build is None:
            continue
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile",
                                                                           "Dockerfile")
        full = os.path.normpath(os.path.join(base, context, dockerfile))
        if not os.path.isfile(full):
            problems.append(f"{path}: service {name} builds {full}, which does not exist")
            continue
        want = IMAGES.get(os.path.basename(full))
        if want and svc.get("image") != f"{want[0]}:{version}":
            problems.append(f"{path}: service {name} builds {os.path.basename(full)}, which "
                            f"makes {want[0]}:{version}, but names image {svc.get('image')}")
        built[svc.get("image")] = name
    for name, svc in services.items():
        where = f"{path}: service {name}"
        image = svc.get("image")
        if not image:
            problems.append(f"{where}: no image")
            continue
        if image not in built and not pinned(image):
            problems.append(f"{where}: image {image} is neither built here nor pinned to a tag")
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for dep, how in deps.items():
            if dep not in services:
                problems.append(f"{where}: depends on {dep}, which is not a service")
                continue
            cond = (how or {}).get("condition", "service_started")
            if cond not in CONDITIONS:
                problems.append(f"{where}: depends_on {dep}: unknown condition {cond}")
            if cond == "service_healthy" and "healthcheck" not in services[dep]:
                problems.append(f"{where}: waits for {dep} to be healthy, which has no "
                                "healthcheck")
        mounts = []
        for v in svc.get("volumes") or []:
            source, _, rest = str(v).partition(":")
            target = rest.split(":")[0]
            mounts.append(target)
            if not source.startswith((".", "/", "~")):
                used.add(source)
                if source not in declared:
                    problems.append(f"{where}: volume {source} is not declared under volumes")
        env = as_dict(svc.get("environment"))
        program = image.split("/")[-1].split(":")[0]
        if program in known_env:
            for key in env:
                if key.startswith("HPO_") and key not in known_env[program]:
                    problems.append(f"{where}: {key} is not a variable that {program}'s "
                                    "programs read")
            tf = env.get("HPO_TOKEN_FILE")
            if tf and not any(tf.startswith(m.rstrip("/") + "/") for m in mounts):
                problems.append(f"{where}: HPO_TOKEN_FILE {tf} is on no mounted volume")
        if program == "hpo-server" and "HPO_DB" not in env:
            problems.append(f"{where}: hpo-server without HPO_DB")
        listen = env.get("HPO_LISTEN")
        for p in svc.get("ports") or []:
            container_port = str(p).rsplit(":", 1)[-1].split("/")[0]
            if listen and container_port != listen.rsplit(":", 1)[-1]:
                problems.append(f"{where}: publishes port {container_port} but HPO_LISTEN "
                                f"is {listen}")
    for v in sorted(declared - used):
        problems.append(f"{path}: volume {v} is declared but no service uses it")
    return problems


def main(argv):
    args = argv[1:]
    opts = {}
    while args and args[0] in ("--version", "--source", "--compose", "--dir"):
        if len(args) < 2:
            break
        opts[args[0]] = args[1]
        args = args[2:]
    if "--version" not in opts or "--source" not in opts or \
            (("--compose" in opts) == bool(args)):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if "--compose" in opts:
        problems = lint_compose(opts["--compose"], opts["--version"], opts["--source"],
                                opts.get("--dir", os.path.dirname(opts["--compose"])))
    else:
        problems = [p for path in args for p in lint_containerfile(path, opts["--source"])]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
