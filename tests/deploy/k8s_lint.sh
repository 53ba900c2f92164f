#!/usr/bin/env bash
# k8s_lint.sh: deploy/k8s checked offline (test k8s_manifests, suite deploy): yamllint with the
# project's rules (deploy/k8s/.yamllint, warnings count); every manifest, and the kustomize output
# of every kustomization (kubectl kustomize), against the Kubernetes API schema
# (k8s_validate.py, k8s-schema/); each kustomization lists exactly the files beside it, and the
# output follows the rules of k8s_policy.py; then lint_rejects.py asserts that broken copies are
# rejected. yamllint, kubectl (Debian's kubernetes-client will do) and python3-yaml come from
# `deploy/install-deps.sh --tests`; a missing one fails the test.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/tests/deploy
k8s=$root/deploy/k8s
py=/usr/bin/python3
fail() { echo "k8s_lint.sh: FAIL: $*" >&2; exit 1; }

command -v yamllint >/dev/null || fail "yamllint is missing (bash deploy/install-deps.sh --tests)"
command -v kubectl >/dev/null ||
    fail "kubectl is missing (bash deploy/install-deps.sh --tests installs kubernetes-client)"
[[ -x $py ]] && "$py" -c 'import yaml' 2>/dev/null ||
    fail "$py cannot import yaml (apt-get install python3-yaml)"
version=$(sed -n "s/^ *version : '\([^']*\)',*$/\1/p" "$root/meson.build" | head -n1)
[[ -n $version ]] || fail "no project version in $root/meson.build"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp # kubectl keeps a cache under ~/.kube

echo "== yamllint -s (deploy/k8s/.yamllint)"
yamllint -s -c "$k8s/.yamllint" "$k8s" || fail "yamllint found problems in deploy/k8s"

mapfile -t manifests < <(find "$k8s" -name '*.yaml' ! -name kustomization.yaml | sort)
mapfile -t kdirs < <(find "$k8s" -name kustomization.yaml -printf '%h\n' | sort)
((${#manifests[@]} > 0 && ${#kdirs[@]} > 0)) || fail "no manifests or no kustomization in $k8s"

echo "== the schema: ${#manifests[@]} manifest files"
"$py" "$here/k8s_validate.py" "$here/k8s-schema/k8s-schema.json" "${manifests[@]}" ||
    fail "manifests that do not fit the Kubernetes API schema"

echo "== each kustomization lists the files beside it"
"$py" "$here/k8s_policy.py" --kustomization "${kdirs[@]}" || fail "kustomization listing"

for dir in "${kdirs[@]}"; do
    name=$(basename "$dir")
    echo "== kubectl kustomize deploy/k8s/$name: the schema and the rules"
    kubectl kustomize "$dir" >"$tmp/$name.yaml" 2>"$tmp/$name.err" ||
        { cat "$tmp/$name.err" >&2; fail "kubectl kustomize $dir failed"; }
    "$py" "$here/k8s_validate.py" "$here/k8s-schema/k8s-schema.json" "$tmp/$name.yaml" ||
        fail "the kustomize output of $dir does not fit the schema"
    "$py" "$here/k8s_policy.py" --version "$version" "$tmp/$name.yaml" ||
        fail "the kustomize output of $dir breaks the rules of k8s_policy.py"
done

echo "== broken copies are rejected"
[[ -f $tmp/base.yaml ]] || fail "no kustomize output of deploy/k8s/base"
mkdir "$tmp/rejects"
"$py" "$here/lint_rejects.py" k8s "$root" "$tmp/base.yaml" "$tmp/rejects" ||
    fail "a broken copy was not rejected"
echo "k8s_lint.sh: ok"
