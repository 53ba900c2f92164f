#!/usr/bin/python3
"""prune.py: makes k8s-schema.json, the part of the Kubernetes API schema that k8s_validate.py
checks manifests against, from the published OpenAPI document (swagger 2.0) of a Kubernetes
release: the definitions of KINDS below and every definition they reference, without the
descriptions and the x-kubernetes-* annotations (except the group/version/kind of each kind).

The published document has no `enum` lists (the enums exist only in its prose), so ENUMS below
adds them for the fields the manifests use; each value must be named in that field's own
description in the document, or this script stops.

    python3 prune.py SWAGGER_JSON RELEASE SOURCE >k8s-schema.json
"""
import json
import re
import sys

KINDS = [
    ("", "v1", "ConfigMap"),
    ("", "v1", "Secret"),
    ("", "v1", "Service"),
    ("", "v1", "PersistentVolumeClaim"),
    ("apps", "v1", "Deployment"),
    ("apps", "v1", "StatefulSet"),
    ("batch", "v1", "Job"),
]

ENUMS = {
    ("io.k8s.api.core.v1.Container", "imagePullPolicy"): ["Always", "Never", "IfNotPresent"],
    ("io.k8s.api.core.v1.PodSpec", "restartPolicy"): ["Always", "OnFailure", "Never"],
    ("io.k8s.api.core.v1.PodSpec", "dnsPolicy"):
        ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
    ("io.k8s.api.core.v1.ServiceSpec", "type"):
        ["ExternalName", "ClusterIP", "NodePort", "LoadBalancer"],
    ("io.k8s.api.core.v1.ServicePort", "protocol"): ["TCP", "UDP", "SCTP"],
    ("io.k8s.api.core.v1.ContainerPort", "protocol"): ["TCP", "UDP", "SCTP"],
    ("io.k8s.api.core.v1.SeccompProfile", "type"): ["Localhost", "RuntimeDefault", "Unconfined"],
    ("io.k8s.api.core.v1.Toleration", "operator"): ["Exists", "Equal"],
    ("io.k8s.api.core.v1.Toleration", "effect"): ["NoSchedule", "PreferNoSchedule", "NoExecute"],
    ("io.k8s.api.apps.v1.DeploymentStrategy", "type"): ["Recreate", "RollingUpdate"],
    ("io.k8s.api.apps.v1.StatefulSetSpec", "podManagementPolicy"): ["OrderedReady", "Parallel"],
    ("io.k8s.api.batch.v1.JobSpec", "completionMode"): ["NonIndexed", "Indexed"],
}

DROP = {"description", "example", "default"}


def refs(node, out):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref:
            out.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            refs(value, out)
    elif isinstance(node, list):
        for value in node:
            refs(value, out)


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items()
                if k not in DROP and (not k.startswith("x-kubernetes-")
                                      or k == "x-kubernetes-group-version-kind")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: prune.py SWAGGER_JSON RELEASE SOURCE")
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    defs = doc["definitions"]
    roots = []
    for group, version, kind in KINDS:
        found = [name for name, d in defs.items()
                 if {"group": group, "version": version, "kind": kind}
                 in d.get("x-kubernetes-group-version-kind", [])]
        if len(found) != 1:
            sys.exit(f"prune.py: {group}/{version} {kind}: {len(found)} definitions")
        roots.append(found[0])
    keep, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        found = set()
        refs(defs[name], found)
        todo.extend(found - keep)
    out = {name: strip(defs[name]) for name in sorted(keep)}
    for (name, prop), values in ENUMS.items():
        text = defs[name]["properties"][prop].get("description", "")
        for v in values:
            if not re.search(r"\b" + re.escape(v) + r"\b", text):
                sys.exit(f"prune.py: {name}.{prop}: {v} is not in its description")
        out[name]["properties"][prop]["enum"] = values
    print(json.dumps({"kubernetes": sys.argv[2], "source": sys.argv[3],
                      "definitions": out}, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
