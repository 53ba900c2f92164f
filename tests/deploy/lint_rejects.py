#!/usr/bin/python3
"""lint_rejects.py: the checks of deploy/'s recipes must be able to fail. Each case below breaks
one thing in a copy of a real file (a manifest, the kustomize output, a Containerfile,
compose.yaml) and asserts that the checker meant to catch it exits 1 and says why (the expected
text). Run by k8s_lint.sh and container_lint.sh with the repository root and a scratch directory:

    python3 lint_rejects.py k8s|container ROOT RENDERED_BASE_YAML|- TMPDIR
"""
import copy
import os
import shutil
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def dump(path, docs):
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)


def find(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def container(doc, index=0):
    return doc["spec"]["template"]["spec"]["containers"][index]


# --- the schema (k8s_validate.py), on deploy/k8s/base/server-deployment.yaml and others ---
def schema_cases():
    def m_replica(docs):
        d = find(docs, "Deployment", "hpo-server")
        d["spec"]["replica"] = d["spec"].pop("replicas")

    def m_replicas_str(docs):
        find(docs, "Deployment", "hpo-server")["spec"]["replicas"] = "one"

    def m_no_name(docs):
        del container(find(docs, "Deployment", "hpo-server"))["name"]

    def m_pull(docs):
        container(find(docs, "Deployment", "hpo-server"))["imagePullPolicy"] = "Sometimes"

    def m_api(docs):
        find(docs, "Deployment", "hpo-server")["apiVersion"] = "apps/v1beta9"

    def m_quantity(docs):
        container(find(docs, "Deployment", "hpo-server"))["resources"]["limits"]["memory"] = \
            "lots"

    def m_base64(docs):
        find(docs, "Secret", "hpo-db")["data"] = {"url": "not base64!"}

    def m_mode(docs):
        find(docs, "Job", "hpo-workers")["spec"]["completionMode"] = "Indexd"

    def m_port_type(docs):
        container(find(docs, "Deployment", "hpo-server"))["ports"][0]["containerPort"] = [8080]

    return [
        ("a typo'd field (replica)", m_replica, "spec.replica: unknown field"),
        ("a string for an integer", m_replicas_str, "spec.replicas: expected an integer"),
        ("a container without a name", m_no_name,
         "spec.template.spec.containers[0].name: required field missing"),
        ("a bad enum value", m_pull, "'Sometimes' is not one of"),
        ("an apiVersion the schema lacks", m_api, "is not in the schema"),
        ("a quantity that is not one", m_quantity, "is not a quantity"),
        ("a Secret's data not in base64", m_base64, "not base64"),
        ("a bad completionMode", m_mode, "'Indexd' is not one of"),
        ("a list for an integer", m_port_type, "containerPort: expected an integer"),
    ]


# --- the rules of our own (k8s_policy.py), on the kustomize output of deploy/k8s/base ---
def policy_cases():
    def server(docs):
        return container(find(docs, "Deployment", "hpo-server"))

    def worker(docs):
        return container(find(docs, "Job", "hpo-workers"))

    def m_path(docs):
        server(docs)["readinessProbe"]["httpGet"]["path"] = "/health"

    def m_port(docs):
        server(docs)["livenessProbe"]["httpGet"]["port"] = 9090

    def m_limits(docs):
        del worker(docs)["resources"]["limits"]

    def m_root(docs):
        d = find(docs, "Deployment", "hpo-server")
        d["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] = False
        server(docs)["securityContext"]["runAsNonRoot"] = False

    def m_image(docs):
        server(docs)["image"] = "hpo-server:0.0.9"

    def m_requeue(docs):
        worker(docs)["args"].remove("--requeue-on-exit")

    def m_prestop(docs):
        del worker(docs)["lifecycle"]

    def m_grace(docs):
        find(docs, "Job", "hpo-workers")["spec"]["template"]["spec"][
            "terminationGracePeriodSeconds"] = 10

    def m_key(docs):
        server(docs)["env"][0]["valueFrom"]["secretKeyRef"]["key"] = "uri"

    def m_seccomp(docs):
        d = find(docs, "Job", "hpo-workers")
        del d["spec"]["template"]["spec"]["securityContext"]["seccompProfile"]
        del worker(docs)["securityContext"]["seccompProfile"]

    def m_token(docs):
        env = worker(docs)["env"]
        env[:] = [e for e in env if e["name"] != "HPO_TOKEN_FILE"] + \
            [{"name": "HPO_TOKEN", "value": "secret"}]

    def m_service(docs):
        find(docs, "Service", "hpo-server")["spec"]["ports"][0]["targetPort"] = "web"

    return [
        ("a probe on another path", m_path, "not /healthz"),
        ("a probe on a port the container lacks", m_port, "is not a port of the container"),
        ("a container without limits", m_limits, "resources.limits.cpu is not set"),
        ("runAsNonRoot false", m_root, "runAsNonRoot is not true"),
        ("an hpo image of another version", m_image, "hpo images are hpo-server:"),
        ("a worker that does not requeue", m_requeue, "without --requeue-on-exit"),
        ("a worker without the draining preStop", m_prestop, "without a preStop"),
        ("a grace period shorter than --grace-ms", m_grace, "is not longer than --grace-ms"),
        ("a Secret key that does not exist", m_key, "has no key 'uri'"),
        ("no seccomp profile", m_seccomp, "seccompProfile.type is not RuntimeDefault"),
        ("a token as a value", m_token, "the token is given as a value"),
        ("a Service targetPort no pod has", m_service, "targetPort 'web' is no port"),
    ]


def check_k8s(root, rendered, tmp):
    failures = []
    schema = os.path.join(HERE, "k8s-schema", "k8s-schema.json")
    with open(rendered, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    version = project_version(root)
    for (what, mutate, expect), tool in [(c, "schema") for c in schema_cases()] + \
                                        [(c, "policy") for c in policy_cases()]:
        broken = copy.deepcopy(docs)
        mutate(broken)
        path = os.path.join(tmp, "broken.yaml")
        dump(path, broken)
        cmd = [PY, os.path.join(HERE, "k8s_validate.py"), schema, path] if tool == "schema" \
            else [PY, os.path.join(HERE, "k8s_policy.py"), "--version", version, path]
        failures += expect_rejected(f"{tool}: {what}", cmd, expect)
    # the kustomization must list every manifest beside it, and only existing ones
    kdir = os.path.join(tmp, "kustomize-copy")
    shutil.copytree(os.path.join(root, "deploy", "k8s", "base"), kdir)
    with open(os.path.join(kdir, "extra.yaml"), "w", encoding="utf-8") as f:
        f.write("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n")
    cmd = [PY, os.path.join(HERE, "k8s_policy.py"), "--kustomization", kdir]
    failures += expect_rejected("kustomization: a file not listed", cmd,
                                "does not list extra.yaml")
    os.remove(os.path.join(kdir, "extra.yaml"))
    os.remove(os.path.join(kdir, "study-job.yaml"))
    failures += expect_rejected("kustomization: a listed file missing", cmd,
                                "lists study-job.yaml, which does not exist")
    # yamllint with the project's rules
    lint_dir = os.path.join(tmp, "yamllint")
    os.makedirs(lint_dir)
    with open(os.path.join(root, "deploy", "k8s", "base", "server-configmap.yaml"),
              encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(lint_dir, "dup.yaml"), "w", encoding="utf-8") as f:
        f.write(text + "  HPO_THREADS: \"8\"\n")
    cmd = ["yamllint", "-s", "-c", os.path.join(root, "deploy", "k8s", ".yamllint"), lint_dir]
    failures += expect_rejected("yamllint: a key twice", cmd, "duplication of key")
    return failures


# --- the Containerfiles and compose.yaml (container_lint.py) ---
def containerfile_cases():
    return [
        ("an unpinned base image", "ARG BUILD_IMAGE=debian:12", "ARG BUILD_IMAGE=debian",
         "FROM debian is not pinned"),
        ("the latest tag", "ARG RUNTIME_IMAGE=debian:12-slim", "ARG RUNTIME_IMAGE=debian:latest",
         "FROM debian:latest is not pinned"),
        ("root in the final stage", "USER 10001:10001", "USER root", "the final stage's USER is root"),
        ("no final USER", "USER 10001:10001\n", "", "the final stage has no USER"),
        ("recommends installed", "apt-get install -y --no-install-recommends meson",
         "apt-get install -y meson", "without --no-install-recommends"),
        ("the apt lists kept", "    && rm -rf /var/lib/apt/lists/*\nWORKDIR /src",
         "WORKDIR /src", "does not remove /var/lib/apt/lists"),
        ("a COPY from a stage that does not exist", "COPY --from=build", "COPY --from=builder",
         "COPY --from=builder: no such earlier stage"),
        ("a folder meson.build reads not copied", "COPY man man\n", "",
         "meson.build reads man/ but no COPY brings it in"),
        ("an ENTRYPOINT in shell form", 'ENTRYPOINT ["/usr/local/bin/hpo-server"]',
         "ENTRYPOINT /usr/local/bin/hpo-server", "is not in exec form"),
    ]


def compose_cases():
    def m_dep(doc):
        doc["services"]["hpo-server"]["depends_on"]["database"] = {"condition": "service_healthy"}

    def m_vol(doc):
        doc["services"]["hpo-server"]["volumes"].append("cache:/var/cache/hpo")

    def m_env(doc):
        doc["services"]["hpo-server"]["environment"]["HPO_LISTN"] = "0.0.0.0:8080"

    def m_image(doc):
        doc["services"]["hpo-tokens"]["image"] = "hpo-server:9.9"

    def m_health(doc):
        doc["services"]["worker-1"]["depends_on"] = {"hpo-server": {"condition": "service_healthy"}}

    def m_port(doc):
        doc["services"]["hpo-server"]["ports"] = ["127.0.0.1:8080:9000"]

    def m_token(doc):
        doc["services"]["worker-2"]["volumes"] = []

    return [
        ("depends on a service that does not exist", m_dep, "depends on database, which is not"),
        ("an undeclared volume", m_vol, "volume cache is not declared"),
        ("a variable hpo-server does not read", m_env, "HPO_LISTN is not a variable"),
        ("a built image of another version", m_image, "makes hpo-server:"),
        ("healthy without a healthcheck", m_health, "which has no healthcheck"),
        ("a port that is not HPO_LISTEN's", m_port, "publishes port 9000"),
        ("a token file on no volume", m_token, "is on no mounted volume"),
    ]


def check_container(root, tmp):
    failures = []
    version = project_version(root)
    src = os.path.join(root, "deploy", "container", "server.Containerfile")
    with open(src, encoding="utf-8") as f:
        text = f.read()
    for what, old, new, expect in containerfile_cases():
        if old not in text:
            failures.append(f"containerfile: {what}: server.Containerfile has no {old!r} to break")
            continue
        path = os.path.join(tmp, "broken.Containerfile")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, 1))
        cmd = [PY, os.path.join(HERE, "container_lint.py"), "--version", version,
               "--source", root, path]
        failures += expect_rejected(f"containerfile: {what}", cmd, expect)
    compose = os.path.join(root, "deploy", "container", "compose.yaml")
    with open(compose, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    for what, mutate, expect in compose_cases():
        broken = copy.deepcopy(doc)
        mutate(broken)
        path = os.path.join(tmp, "compose.yaml")
        dump(path, [broken])
        cmd = [PY, os.path.join(HERE, "container_lint.py"), "--version", version,
               "--source", root, "--compose", path, "--dir", os.path.dirname(compose)]
        failures += expect_rejected(f"compose: {what}", cmd, expect)
    return failures


def expect_rejected(what, cmd, expect):
    rc, out = run(cmd)
    if rc == 1 and expect in out:
        print(f"ok: rejected: {what}")
        return []
    return [f"NOT REJECTED as expected: {what}: exit {rc}, wanted 1 and {expect!r} in:\n{out}"]


def project_version(root):
    import re
    with open(os.path.join(root, "meson.build"), encoding="utf-8") as f:
        m = re.search(r"version\s*:\s*'([^']+)'", f.read())
    return m.group(1)


def main(argv):
    if len(argv) != 5 or argv[1] not in ("k8s", "container"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    root, rendered, tmp = argv[2], argv[3], argv[4]
    failures = check_k8s(root, rendered, tmp) if argv[1] == "k8s" else check_container(root, tmp)
    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
