#!/usr/bin/env bash
# prometheus_rules.sh (test prometheus_rules, suite deploy): deploy/prometheus/hpo-alerts.yml is
# valid for Prometheus (promtool check rules), lint-clean (yamllint with deploy/k8s/.yamllint), and
# fires each alert on the series it is meant for (promtool test rules hpo-alerts.test.yml).
# promtool comes with Debian's prometheus package (deploy/install-deps.sh --tests).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
fail() { echo "prometheus_rules.sh: FAIL: $*" >&2; exit 1; }
command -v promtool >/dev/null || fail "promtool is missing (bash deploy/install-deps.sh --tests)"
command -v yamllint >/dev/null || fail "yamllint is missing (bash deploy/install-deps.sh --tests)"
rules=$root/deploy/prometheus/hpo-alerts.yml
yamllint -s -c "$root/deploy/k8s/.yamllint" "$rules" || fail "yamllint found problems in $rules"
promtool check rules "$rules" || fail "promtool check rules refused $rules"
(cd "$here" && promtool test rules hpo-alerts.test.yml) || fail "an alert did not fire as expected"
echo "prometheus_rules.sh: ok"
