#!/usr/bin/python3
"""k8s_policy.py: the rules of deploy/k8s that the API schema cannot express.

    python3 k8s_policy.py --version VERSION RENDERED.yaml...   (kustomize output: one whole set)
    python3 k8s_policy.py --kustomization DIR...

The first form checks one complete set of manifests: every container (init ones too) has
resources.requests and .limits for cpu and memory; runs as non-root (runAsNonRoot), without
privilege escalation, with ALL capabilities dropped, a read-only root file system and the
RuntimeDefault seccomp profile (on the container or its pod); every httpGet probe asks /healthz
and every probe's port is one the container declares; hpo images are hpo-server:VERSION and
hpo-worker:VERSION, any other image is pinned to a tag other than latest; an hpo-worker container
drains on SIGTERM (--requeue-on-exit; a preStop hook sends it and waits) within the pod's grace
period (> its --grace-ms), reads its token from a file (HPO_TOKEN_FILE) on a mounted Secret;
every volume mount, Secret, ConfigMap,
key and claim referenced exists in the set; every Service selects a pod template and its
targetPorts are ports of that pod. The second form checks that each DIR's kustomization.yaml
lists exactly the .yaml files beside it (resources, patches). Prints one line per problem and
exits 1 if there was any.
"""
import os
import re
import sys

import yaml

WORKLOADS = {"Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"}


def pod_of(doc):
    spec = doc.get("spec") or {}
    if doc.get("kind") == "Pod":
        return spec, doc.get("metadata") or {}
    tmpl = spec.get("template") or {}
    return tmpl.get("spec") or {}, tmpl.get("metadata") or {}


def option(args, flag):
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a == "--":
            break
    return None


class Policy:
    def __init__(self, version, docs):
        self.version = version
        self.docs = docs
        self.problems = []
        self.by_kind = {}
        for d in docs:
            self.by_kind.setdefault(d.get("kind"), {})[(d.get("metadata") or {}).get("name")] = d

    def bad(self, where, text):
        self.problems.append(f"{where}: {text}")

    def keys_of(self, kind, name):
        d = self.by_kind.get(kind, {}).get(name)
        if d is None:
            return None
        return set((d.get("data") or {})) | set((d.get("stringData") or {}))

    def check_ref(self, where, kind, ref):
        keys = self.keys_of(kind, ref.get("name"))
        if keys is None:
            self.bad(where, f"{kind} {ref.get('name')!r} is not in the manifests")
        elif "key" in ref and ref["key"] not in keys:
            self.bad(where, f"{kind} {ref.get('name')!r} has no key {ref['key']!r}")

    def run(self):
        for d in self.docs:
            kind, name = d.get("kind"), (d.get("metadata") or {}).get("name")
            if kind in WORKLOADS or kind == "Pod":
                self.check_pod(f"{kind} {name}", d)
            if kind == "Service":
                self.check_service(f"Service {name}", d)
        return self.problems

    def check_pod(self, where, doc):
        pod, _ = pod_of(doc)
        psc = pod.get("securityContext") or {}
        volumes = {v.get("name"): v for v in pod.get("volumes") or []}
        claims = {(t.get("metadata") or {}).get("name")
                  for t in (doc.get("spec") or {}).get("volumeClaimTemplates") or []}
        for vname, v in volumes.items():
            if "secret" in v:
                self.check_ref(f"{where} volume {vname}", "Secret",
                               {"name": v["secret"].get("secretName")})
            if "configMap" in v:
                self.check_ref(f"{where} volume {vname}", "ConfigMap",
                               {"name": v["configMap"].get("name")})
            if "persistentVolumeClaim" in v:
                claim = v["persistentVolumeClaim"].get("claimName")
                if claim not in self.by_kind.get("PersistentVolumeClaim", {}):
                    self.bad(f"{where} volume {vname}",
                             f"PersistentVolumeClaim {claim!r} is not in the manifests")
        containers = [("container", c) for c in pod.get("containers") or []] + \
                     [("init container", c) for c in pod.get("initContainers") or []]
        for role, c in containers:
            cw = f"{where} {role} {c.get('name')}"
            self.check_resources(cw, c)
            self.check_security(cw, c.get("securityContext") or {}, psc)
            self.check_probes(cw, c)
            self.check_image(cw, c.get("image", ""))
            for m in c.get("volumeMounts") or []:
                if m.get("name") not in volumes and m.get("name") not in claims:
                    self.bad(cw, f"mounts volume {m.get('name')!r} that the pod does not have")
            for e in c.get("env") or []:
                src = e.get("valueFrom") or {}
                if "secretKeyRef" in src:
                    self.check_ref(f"{cw} env {e.get('name')}", "Secret", src["secretKeyRef"])
                if "configMapKeyRef" in src:
                    self.check_ref(f"{cw} env {e.get('name')}", "ConfigMap",
                                   src["configMapKeyRef"])
            for e in c.get("envFrom") or []:
                if "configMapRef" in e:
                    self.check_ref(f"{cw} envFrom", "ConfigMap", e["configMapRef"])
                if "secretRef" in e:
                    self.check_ref(f"{cw} envFrom", "Secret", e["secretRef"])
            if role == "container" and c.get("image", "").startswith("hpo-worker:") \
                    and not c.get("command"):
                self.check_worker(cw, c, pod, volumes)

    def check_resources(self, where, c):
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            got = res.get(part) or {}
            for r in ("cpu", "memory"):
                if r not in got:
                    self.bad(where, f"resources.{part}.{r} is not set")
        gpu_req = (res.get("requests") or {}).get("nvidia.com/gpu")
        gpu_lim = (res.get("limits") or {}).get("nvidia.com/gpu")
        if gpu_req is not None and gpu_req != gpu_lim:
            self.bad(where, "nvidia.com/gpu: requests must equal limits")

    def check_security(self, where, sc, psc):
        def setting(key):
            return sc[key] if key in sc else psc.get(key)
        if setting("runAsNonRoot") is not True:
            self.bad(where, "runAsNonRoot is not true (container or pod securityContext)")
        if setting("runAsUser") == 0:
            self.bad(where, "runAsUser is 0 (root)")
        if sc.get("allowPrivilegeEscalation") is not False:
            self.bad(where, "securityContext.allowPrivilegeEscalation is not false")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            self.bad(where, "securityContext.capabilities.drop does not have ALL")
        if (sc.get("capabilities") or {}).get("add"):
            self.bad(where, "securityContext.capabilities.add is not empty")
        if sc.get("readOnlyRootFilesystem") is not True:
            self.bad(where, "securityContext.readOnlyRootFilesystem is not true")
        if (setting("seccompProfile") or {}).get("type") != "RuntimeDefault":
            self.bad(where, "seccompProfile.type is not RuntimeDefault (container or pod)")
        if sc.get("privileged"):
            self.bad(where, "securityContext.privileged is set")

    def check_probes(self, where, c):
        ports = {p.get("containerPort") for p in c.get("ports") or []} | \
                {p.get("name") for p in c.get("ports") or [] if p.get("name")}
        for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
            probe = c.get(kind)
            if not probe:
                continue
            for handler in ("httpGet", "tcpSocket", "grpc"):
                if handler in probe and probe[handler].get("port") not in ports:
                    self.bad(where, f"{kind}.{handler}.port {probe[handler].get('port')!r} "
                                    f"is not a port of the container")
            if "httpGet" in probe and probe["httpGet"].get("path") != "/healthz":
                self.bad(where, f"{kind}.httpGet.path is {probe['httpGet'].get('path')!r}, "
                                "not /healthz")
        if c.get("image", "").startswith("hpo-server:"):
            for kind in ("readinessProbe", "livenessProbe"):
                if "httpGet" not in (c.get(kind) or {}):
                    self.bad(where, f"hpo-server has no {kind} on /healthz")

    def check_image(self, where, image):
        m = re.match(r"^(?:[^/]+/)*(hpo-[a-z]+)(?::([^@]+))?$", image)
        if m and m.group(1) in ("hpo-server", "hpo-worker"):
            if m.group(2) != self.version:
                self.bad(where, f"image {image!r}: hpo images are {m.group(1)}:{self.version} "
                                "(the project's version)")
            return
        if m and image.split("/")[-1].startswith("hpo-"):
            self.bad(where, f"image {image!r}: hpo images are hpo-server or hpo-worker")
            return
        last = image.rsplit("/", 1)[-1]
        if "@sha256:" not in image and (":" not in last or last.endswith(":latest")):
            self.bad(where, f"image {image!r} is not pinned to a tag (other than latest)")

    def check_worker(self, where, c, pod, volumes):
        args = [str(a) for a in c.get("args") or []]
        own = args[:args.index("--")] if "--" in args else args
        if "--requeue-on-exit" not in own:
            self.bad(where, "hpo-worker without --requeue-on-exit: SIGTERM would not hand "
                            "its trials back")
        hook = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}
        if "kill -TERM 1" not in " ".join(str(w) for w in hook.get("command") or []):
            self.bad(where, "hpo-worker without a preStop that sends it SIGTERM (kill -TERM 1) "
                            "and waits: the drain")
        grace_ms = int(option(own, "--grace-ms") or 5000)
        period = pod.get("terminationGracePeriodSeconds", 30)
        if period * 1000 <= grace_ms:
            self.bad(where, f"terminationGracePeriodSeconds {period} is not longer than "
                            f"--grace-ms {grace_ms}")
        env = {e.get("name"): e for e in c.get("env") or []}
        if "HPO_TOKEN" in env or "--token" in own:
            self.bad(where, "the token is given as a value: mount it and set HPO_TOKEN_FILE")
        tf = (env.get("HPO_TOKEN_FILE") or {}).get("value")
        if not tf:
            self.bad(where, "HPO_TOKEN_FILE is not set")
            return
        mount = [m for m in c.get("volumeMounts") or []
                 if tf.startswith(m.get("mountPath", "").rstrip("/") + "/")]
        if not mount or "secret" not in volumes.get(mount[0].get("name"), {}):
            self.bad(where, f"HPO_TOKEN_FILE {tf} is not on a mounted Secret")

    def check_service(self, where, svc):
        spec = svc.get("spec") or {}
        sel = spec.get("selector") or {}
        pods = []
        for kind in WORKLOADS:
            for d in self.by_kind.get(kind, {}).values():
                pod, meta = pod_of(d)
                labels = meta.get("labels") or {}
                if sel and all(labels.get(k) == v for k, v in sel.items()):
                    pods.append(pod)
        if not pods:
            self.bad(where, f"its selector {sel} matches no pod template")
            return
        for p in spec.get("ports") or []:
            target = p.get("targetPort", p.get("port"))
            for pod in pods:
                names = set()
                for c in pod.get("containers") or []:
                    for cp in c.get("ports") or []:
                        names |= {cp.get("containerPort"), cp.get("name")}
                if target not in names:
                    self.bad(where, f"targetPort {target!r} is no port of the pods it selects")


def check_kustomization(directory):
    problems = []
    path = os.path.join(directory, "kustomization.yaml")
    try:
        with open(path, encoding="utf-8") as f:
            k = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as e:
        return [f"{path}: cannot read: {e}"]
    listed = []
    for field in ("resources", "patchesStrategicMerge", "bases", "components"):
        listed += [str(x) for x in k.get(field) or []]
    listed += [p["path"] for p in k.get("patches") or [] if isinstance(p, dict) and "path" in p]
    files = {f for f in os.listdir(directory)
             if f.endswith((".yaml", ".yml")) and f != "kustomization.yaml"}
    for item in listed:
        full = os.path.join(directory, item)
        if os.path.isdir(full):
            if not os.path.isfile(os.path.join(full, "kustomization.yaml")):
                problems.append(f"{path}: {item} is a directory without a kustomization.yaml")
        elif not os.path.isfile(full):
            problems.append(f"{path}: lists {item}, which does not exist")
    for f in sorted(files - set(listed)):
        problems.append(f"{path}: does not list {f}")
    return problems


def main(argv):
    if len(argv) >= 3 and argv[1] == "--kustomization":
        problems = [p for d in argv[2:] for p in check_kustomization(d)]
    elif len(argv) >= 4 and argv[1] == "--version":
        docs = []
        for path in argv[3:]:
            with open(path, encoding="utf-8") as f:
                docs += [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
        problems = Policy(argv[2], docs).run()
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
