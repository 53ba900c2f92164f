#!/usr/bin/env bash
# container_lint.sh: deploy/container checked without building (test container_files, suite
# deploy): yamllint of compose.yaml with deploy/k8s/.yamllint's rules; the Containerfiles and
# compose.yaml against the rules of container_lint.py; then lint_rejects.py asserts that broken
# copies are rejected. The images are built and run by container_run.sh (test container_run).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/tests/deploy
dir=$root/deploy/container
py=/usr/bin/python3
fail() { echo "container_lint.sh: FAIL: $*" >&2; exit 1; }

command -v yamllint >/dev/null || fail "yamllint is missing (bash deploy/install-deps.sh --tests)"
[[ -x $py ]] && "$py" -c 'import yaml' 2>/dev/null ||
    fail "$py cannot import yaml (apt-get install python3-yaml)"
version=$(sed -n "s/^ *version : '\([^']*\)',*$/\1/p" "$root/meson.build" | head -n1)
[[ -n $version ]] || fail "no project version in $root/meson.build"
mapfile -t files < <(find "$dir" -name '*.Containerfile' | sort)
((${#files[@]} >= 2)) || fail "expected the server's and the worker's Containerfile in $dir"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== yamllint -s compose.yaml"
yamllint -s -c "$root/deploy/k8s/.yamllint" "$dir/compose.yaml" || fail "yamllint: compose.yaml"
echo "== ${#files[@]} Containerfiles"
"$py" "$here/container_lint.py" --version "$version" --source "$root" "${files[@]}" ||
    fail "Containerfile rules"
echo "== compose.yaml"
"$py" "$here/container_lint.py" --version "$version" --source "$root" --compose "$dir/compose.yaml" ||
    fail "compose.yaml rules"
echo "== broken copies are rejected"
"$py" "$here/lint_rejects.py" container "$root" - "$tmp" || fail "a broken copy was not rejected"
echo "container_lint.sh: ok"
