#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages needed to build and test hpo, only those missing,
# so a rerun is quick (libc6-dev is named because gcc only recommends it and recommends are not
# installed). python3-torch and python3-sklearn run worker/examples/seed_pytorch (its e2e test
# fails without them). Extra package names may be given as arguments (quickstart.sh adds jq).
set -euo pipefail

packages=(meson ninja-build pkg-config gcc libc6-dev libmicrohttpd-dev libjansson-dev libpq-dev
          libcurl4-openssl-dev check postgresql curl openssl python3 python3-torch python3-sklearn
          python3-optuna "$@")

installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps.sh: all packages present" >&2
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
