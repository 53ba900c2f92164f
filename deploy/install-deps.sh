#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages needed to build and test hpo, only those missing,
# so a rerun is quick (libc6-dev is named because gcc only recommends it and recommends are not
# installed). python3-torch and python3-sklearn run worker/examples/seed_pytorch (its e2e test
# fails without them); python3-plotly draws hpo_client.visualization's figures; groff-base
# renders the man pages (unit test manpages). With --tests (test.sh), also what only the tests
# need: chromium, nodejs and npm run the dashboard's browser test (tests/e2e/browser), whose
# puppeteer-core comes from npm: `npm ci` there when its node_modules is missing or older than
# its package-lock.json; the deploy suite (tests/deploy) runs slurm-wlm and munge, prometheus,
# iproute2's namespaces, yamllint, python3-yaml and kubectl on deploy/k8s and deploy/container,
# podman and debootstrap (deploy/container's images built from a debootstrapped base and run),
# systemd (for systemd-analyze: nothing is started), man-db, dpkg-dev, python3-venv and the
# setuptools and wheel wheels for the units, the Debian packages and pip install. Extra package
# names may be given as arguments (quickstart.sh adds jq).
#   bash deploy/install-deps.sh [--tests] [PACKAGE...]
set -euo pipefail

tests=0
if [[ "${1:-}" == --tests ]]; then
    tests=1
    shift
fi
packages=(meson ninja-build pkg-config gcc libc6-dev libmicrohttpd-dev libjansson-dev libpq-dev
          libcurl4-openssl-dev check postgresql curl openssl python3 python3-torch python3-sklearn
          python3-optuna python3-plotly groff-base "$@")
((tests)) && packages+=(chromium nodejs slurm-wlm munge jq prometheus yamllint iproute2 python3-yaml
                        podman debootstrap systemd man-db dpkg-dev python3-venv
                        python3-setuptools-whl python3-wheel-whl)

installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# puppeteer-core for tests/e2e/browser, as its package-lock.json pins it
browser_test_modules() {
    local dir
    ((tests)) || return 0
    dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/e2e/browser"
    if [[ -f "$dir/node_modules/.package-lock.json" &&
          ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
        return 0
    fi
    echo "install-deps.sh: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund </dev/null)
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
# npm: Debian's package, unless the node installed brings its own (NodeSource's does)
((tests)) && ! command -v npm >/dev/null 2>&1 && ! installed npm && missing+=(npm)
# kubectl (tests/deploy/k8s_lint.sh: kubectl kustomize): Debian's kubernetes-client, unless a
# kubectl is installed already (another vendor's package may hold /usr/bin/kubectl: they clash)
((tests)) && ! command -v kubectl >/dev/null 2>&1 && ! installed kubernetes-client &&
    missing+=(kubernetes-client)

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps.sh: all packages present" >&2
    browser_test_modules
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || {
    echo "install-deps.sh: missing ${missing[*]} and no apt-get (this script is for Debian 12)" >&2
    exit 1
}

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "install-deps.sh: missing ${missing[*]}; run as root or install sudo" >&2
        exit 1
    }
    sudo=(sudo)
fi

echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" </dev/null
browser_test_modules
