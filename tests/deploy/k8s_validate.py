#!/usr/bin/python3
"""k8s_validate.py: checks Kubernetes manifests against the API schema, offline.

    python3 k8s_validate.py SCHEMA_JSON MANIFEST.yaml...

SCHEMA_JSON is k8s-schema/k8s-schema.json (definitions pruned from a release's published OpenAPI
document by k8s-schema/prune.py). Every YAML document must have an apiVersion and kind the schema
has; then each field is checked against its definition: unknown fields, wrong types (integers,
booleans, strings, lists, maps; int-or-string; quantities; base64 for byte fields), missing
required fields, values outside an enum. Prints one line per problem, FILE: DOC KIND NAME: PATH:
what; exits 1 if there was any, 2 on bad usage or unreadable input.
"""
import base64
import binascii
import json
import re
import sys

import yaml

QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[mkMGTPE])?$")
INT_RANGE = {"int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1)}
QUANTITY_DEF = "io.k8s.apimachinery.pkg.api.resource.Quantity"


class Validator:
    def __init__(self, schema):
        self.defs = schema["definitions"]
        self.kinds = {}
        for name, d in self.defs.items():
            for gvk in d.get("x-kubernetes-group-version-kind", []):
                api = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
                self.kinds[(api, gvk["kind"])] = name
        self.problems = []

    def problem(self, path, text):
        self.problems.append(f"{path}: {text}")

    def check(self, node, value, path, defname=None):
        ref = node.get("$ref")
        if ref:
            defname = ref.rsplit("/", 1)[1]
            if defname not in self.defs:
                self.problem(path, f"the schema lacks {defname}")
                return
            node = self.defs[defname]
        if defname == QUANTITY_DEF:
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or \
                (isinstance(value, str) and QUANTITY.match(value))
            if not ok:
                self.problem(path, f"{value!r} is not a quantity (e.g. 500m, 2, 1Gi)")
            return
        if node.get("format") == "int-or-string":
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                self.problem(path, f"expected an integer or a string, got {kind_of(value)}")
            return
        if "enum" in node and value not in node["enum"]:
            self.problem(path, f"{value!r} is not one of {', '.join(map(str, node['enum']))}")
            return
        t = node.get("type")
        if t is None and "properties" not in node and "additionalProperties" not in node:
            return  # any value (e.g. RawExtension, JSON)
        if t == "object" or (t is None and ("properties" in node
                                            or "additionalProperties" in node)):
            self.check_object(node, value, path)
        elif t == "array":
            if not isinstance(value, list):
                self.problem(path, f"expected a list, got {kind_of(value)}")
                return
            for i, item in enumerate(value):
                self.check(node.get("items", {}), item, f"{path}[{i}]")
        elif t == "string":
            if not isinstance(value, str):
                self.problem(path, f"expected a string, got {kind_of(value)}")
            elif node.get("format") == "byte":
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    self.problem(path, "not base64 (a Secret's data; use stringData for text)")
        elif t == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                self.problem(path, f"expected an integer, got {kind_of(value)}")
                return
            lo, hi = INT_RANGE.get(node.get("format"), (None, None))
            if lo is not None and not lo <= value <= hi:
                self.problem(path, f"{value} does not fit {node['format']}")
        elif t == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.problem(path, f"expected a number, got {kind_of(value)}")
        elif t == "boolean":
            if not isinstance(value, bool):
                self.problem(path, f"expected true or false, got {kind_of(value)}")

    def check_object(self, node, value, path):
        if not isinstance(value, dict):
            self.problem(path, f"expected a map, got {kind_of(value)}")
            return
        props = node.get("properties")
        extra = node.get("additionalProperties")
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if props is not None and key in props:
                self.check(props[key], item, sub)
            elif isinstance(extra, dict):
                self.check(extra, item, sub)
            elif extra is True or (props is None and extra is None):
                continue
            else:
                self.problem(sub, f"unknown field (known: {', '.join(sorted(props))})")
        for key in node.get("required", []):
            if key not in value:
                self.problem(f"{path}.{key}" if path else key, "required field missing")

    def check_document(self, doc):
        if not isinstance(doc, dict):
            self.problem("", f"a manifest must be a map, got {kind_of(doc)}")
            return
        api, kind = doc.get("apiVersion"), doc.get("kind")
        name = self.kinds.get((api, kind))
        if name is None:
            known = ", ".join(f"{a} {k}" for a, k in sorted(self.kinds))
            self.problem("", f"apiVersion {api!r} kind {kind!r} is not in the schema ({known})")
            return
        self.check({"$ref": "#/definitions/" + name}, doc, "")
        if not (doc.get("metadata") or {}).get("name"):
            self.problem("metadata.name", "required field missing")


def kind_of(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    return "a map"


def main(argv):
    if len(argv) < 3:
        print("usage: k8s_validate.py SCHEMA_JSON MANIFEST.yaml...", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            validator = Validator(json.load(f))
    except (OSError, ValueError, KeyError) as e:
        print(f"k8s_validate.py: cannot read the schema {argv[1]}: {e}", file=sys.stderr)
        return 2
    failed = False
    count = 0
    for path in argv[2:]:
        try:
            with open(path, encoding="utf-8") as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except (OSError, yaml.YAMLError) as e:
            print(f"{path}: cannot read: {e}", file=sys.stderr)
            return 2
        if not docs:
            print(f"{path}: no manifest in it")
            failed = True
        for i, doc in enumerate(docs):
            validator.problems = []
            validator.check_document(doc)
            count += 1
            label = f"{path}: document {i + 1}"
            if isinstance(doc, dict):
                name = (doc.get("metadata") or {}).get("name", "?")
                label += f" {doc.get('kind', '?')} {name}"
            for p in validator.problems:
                print(f"{label}: {p}")
                failed = True
    if not failed:
        print(f"k8s_validate.py: {count} manifest(s) valid against Kubernetes "
              f"{json.load(open(argv[1], encoding='utf-8'))['kubernetes']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
