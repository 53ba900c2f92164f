#!/usr/bin/env bash
# build-debs.sh: the Debian packages of hpo, from a build directory configured with --prefix=/usr
# (nothing is compiled: `meson install --no-rebuild` into a staging root, split by path):
#   hpo-server        hpo-server, its unit, man page, sysusers.d entry, /etc/hpo/server.env
#                     (conffile); postinst makes the system user hpo
#   hpo-worker        hpo-worker and the hpo command, the hpo-worker@.service template, their
#                     man pages, an example instance file
#   libhpoclient0     the shared library (Debian names a library's package after its soname)
#   libhpoclient-dev  the header, the .so link, hpoclient.pc, libhpoclient(3)
# Versions come from meson's project version; Depends from dpkg-shlibdeps (libhpoclient0
# exactly: before 1.0 its ABI is not kept between versions). Every installed file must land in
# one package, else it stops and names the file. Writes OUTDIR/PACKAGE_VERSION_ARCH.deb.
#   bash deploy/debian/build-debs.sh [--build-dir DIR] OUTDIR      (DIR default: build)
# Environment: HPO_DEB_MAINTAINER (the Maintainer field), HPO_DEB_REVISION (default 1).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=build
while [[ $# -gt 0 ]]; do
    case $1 in
    --build-dir) build=${2:?--build-dir needs a directory}; shift 2 ;;
    --build-dir=*) build=${1#*=}; shift ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "build-debs.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
[[ $# -eq 1 ]] || { echo "usage: build-debs.sh [--build-dir DIR] OUTDIR" >&2; exit 2; }
out=$1

die() { echo "build-debs.sh: $*" >&2; exit 1; }
for tool in meson dpkg-deb dpkg-shlibdeps dpkg-architecture python3; do
    command -v "$tool" >/dev/null || die "$tool is missing (Debian: meson, dpkg-dev, python3)"
done
[[ -f $build/meson-info/intro-buildoptions.json ]] || die "$build is not a meson build directory"
build=$(cd "$build" && pwd)

# prefix and version from meson's introspection
read -r prefix version < <(python3 - "$build/meson-info" <<'EOF'
import json, os, sys
d = sys.argv[1]
opts = {o["name"]: o["value"] for o in json.load(open(os.path.join(d, "intro-buildoptions.json")))}
info = json.load(open(os.path.join(d, "intro-projectinfo.json")))
print(opts["prefix"], info["version"])
EOF
)
[[ $prefix == /usr ]] || die "$build has prefix $prefix; Debian packages need /usr (meson configure $build -Dprefix=/usr)"
revision=${HPO_DEB_REVISION:-1}
debversion=$version-$revision
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
maintainer=${HPO_DEB_MAINTAINER:-hpo maintainers <hpo@localhost>}
soname_major=${version%%.*}
libpkg=libhpoclient$soname_major

work=$(mktemp -d "${TMPDIR:-/tmp}/hpo-debs.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/stage
meson install -C "$build" --no-rebuild --quiet --strip --destdir "$stage" >/dev/null

# ---- split the staged files by path: each one goes to exactly one package ----
libdir=usr/lib/$multiarch
package_of() {
    case $1 in
    usr/bin/hpo-server | usr/share/man/man8/hpo-server.8 | usr/lib/systemd/system/hpo-server.service | \
        usr/lib/sysusers.d/hpo.conf | usr/share/hpo/server.env)
        echo hpo-server ;;
    usr/bin/hpo-worker | usr/bin/hpo | usr/share/man/man1/hpo-worker.1 | usr/share/man/man1/hpo.1 | \
        usr/lib/systemd/system/hpo-worker@.service | usr/share/hpo/worker.env)
        echo hpo-worker ;;
    "$libdir"/libhpoclient.so.*) echo "$libpkg" ;;
    "$libdir"/libhpoclient.so | "$libdir"/pkgconfig/hpoclient.pc | usr/include/hpo/*.h | \
        usr/share/man/man3/libhpoclient.3)
        echo libhpoclient-dev ;;
    *) return 1 ;;
    esac
}
packages=(hpo-server hpo-worker "$libpkg" libhpoclient-dev)
mkdir -p "$work/debian"
for p in "${packages[@]}"; do mkdir -p "$work/debian/$p/DEBIAN"; done
unplaced=()
while IFS= read -r -d '' f; do
    rel=${f#"$stage"/}
    if ! p=$(package_of "$rel"); then
        unplaced+=("/$rel")
        continue
    fi
    mkdir -p "$work/debian/$p/$(dirname "$rel")"
    cp -a "$f" "$work/debian/$p/$rel"
done < <(find "$stage" \( -type f -o -type l \) -print0)
[[ ${#unplaced[@]} -eq 0 ]] || die "installed files in no package (add them to package_of): ${unplaced[*]}"

# Debian's places: server.env is the server's conffile in /etc/hpo; man pages compressed;
# the copyright file in /usr/share/doc/PACKAGE
srv=$work/debian/hpo-server
mkdir -p "$srv/etc/hpo"
mv "$srv/usr/share/hpo/server.env" "$srv/etc/hpo/server.env"
rmdir "$srv/usr/share/hpo"
echo /etc/hpo/server.env >"$srv/DEBIAN/conffiles"
for p in "${packages[@]}"; do
    if [[ -d $work/debian/$p/usr/share/man ]]; then
        find "$work/debian/$p/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +
    fi
    install -D -m 0644 "$here/copyright" "$work/debian/$p/usr/share/doc/$p/copyright"
done
# the server embeds plotly.js (the dashboard): its licence goes with it
vendor=$here/../../server/http/dashboard/vendor
{
    printf '\nFiles: server/http/dashboard/vendor/plotly.min.js\nComment: plotly.js %s, embedded in hpo-server\nLicense: MIT\n' \
        "$(sed -n "s/^version: *//p" "$vendor/VERSION")"
    sed 's/^$/./; s/^/ /' "$vendor/LICENSE"
} >>"$srv/usr/share/doc/hpo-server/copyright"

# ---- maintainer scripts and library metadata ----
install -m 0755 "$here/hpo-server.postinst" "$srv/DEBIAN/postinst"
install -m 0755 "$here/hpo-server.prerm" "$srv/DEBIAN/prerm"
install -m 0755 "$here/hpo-server.postrm" "$srv/DEBIAN/postrm"
install -m 0755 "$here/hpo-worker.prerm" "$work/debian/hpo-worker/DEBIAN/prerm"
install -m 0755 "$here/hpo-worker.postrm" "$work/debian/hpo-worker/DEBIAN/postrm"
shlibs_line="libhpoclient $soname_major $libpkg (= $debversion)"
echo "$shlibs_line" >"$work/debian/$libpkg/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$work/debian/$libpkg/DEBIAN/triggers"

# ---- dependencies: dpkg-shlibdeps over each package's ELF files ----
printf 'Source: hpo\n\n' >"$work/debian/control"
for p in "${packages[@]}"; do printf 'Package: %s\nArchitecture: any\n\n' "$p"; done >>"$work/debian/control"
echo "$shlibs_line" >"$work/debian/shlibs.local"
shlibs_depends() { # PACKAGE: the shlibs:Depends of its ELF files
    local p=$1 elf=()
    while IFS= read -r -d '' f; do
        [[ $(head -c4 "$f" | od -An -c | tr -d ' ') == 177ELF ]] && elf+=("${f#"$work"/}")
    done < <(find "$work/debian/$p" -path "*/DEBIAN" -prune -o -type f -print0)
    [[ ${#elf[@]} -gt 0 ]] || return 0
    (cd "$work" && dpkg-shlibdeps -O -x"$p" -l"debian/$libpkg/$libdir" "${elf[@]}") |
        sed -n 's/^shlibs:Depends=//p'
}

control() { # PACKAGE SECTION DEPENDS DESCRIPTION...
    local p=$1 section=$2 depends=$3
    shift 3
    local size
    size=$(du -sk --exclude=DEBIAN "$work/debian/$p" | cut -f1)
    {
        echo "Package: $p"
        echo "Version: $debversion"
        echo "Architecture: $arch"
        echo "Maintainer: $maintainer"
        echo "Installed-Size: $size"
        [[ -n $depends ]] && echo "Depends: $depends"
        [[ $p == "$libpkg" ]] && echo "Multi-Arch: same"
        echo "Section: $section"
        echo "Priority: optional"
        printf 'Description: %s\n' "$1"
        shift
        for line in "$@"; do printf ' %s\n' "$line"; done
    } >"$work/debian/$p/DEBIAN/control"
}

join() { # the non-empty arguments, separated by ", "
    local all= a
    for a in "$@"; do [[ -n $a ]] && all+=${all:+, }$a; done
    echo "$all"
}
dep_server=$(shlibs_depends hpo-server)
dep_worker=$(shlibs_depends hpo-worker)
dep_lib=$(shlibs_depends "$libpkg")
control hpo-server net "$(join "$dep_server" passwd)" \
    "hyperparameter-optimization server (HTTP API over PostgreSQL)" \
    "hpo-server keeps studies and trials in PostgreSQL and hands trials to workers" \
    "over a JSON HTTP API, with a dashboard. It runs as the system user hpo" \
    "(hpo-server.service); it is not started at installation: it needs a" \
    "database and a first token (hpo-server token create)."
control hpo-worker science "$dep_worker" \
    "worker and command line of the hpo optimization server" \
    "hpo-worker runs a study's trials on this host's GPUs (hpo-worker@.service," \
    "one instance per GPU group); hpo manages studies, trials and tokens."
control "$libpkg" libs "$dep_lib" \
    "C client library of the hpo optimization server" \
    "libhpoclient speaks the REST API of hpo-server over libcurl."
control libhpoclient-dev libdevel \
    "$libpkg (= $debversion), libjansson-dev, libcurl4-openssl-dev | libcurl-dev" \
    "C client library of the hpo optimization server (development files)" \
    "The header hpo/hpo_client.h, hpoclient.pc and libhpoclient(3)."

# ---- md5sums and the archives ----
mkdir -p "$out"
for p in "${packages[@]}"; do
    (cd "$work/debian/$p" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
        sort -z | xargs -0r md5sum) >"$work/debian/$p/DEBIAN/md5sums"
    [[ -s $work/debian/$p/DEBIAN/md5sums ]] || rm "$work/debian/$p/DEBIAN/md5sums"
    chmod -R u+rwX,go+rX,go-w "$work/debian/$p"
    find "$work/debian/$p" -type f -name '*.so.*' -exec chmod 0644 {} + # Debian: not executable
    dpkg-deb --root-owner-group -Zxz --build "$work/debian/$p" \
        "$out/${p}_${debversion}_$arch.deb" >/dev/null
    echo "$out/${p}_${debversion}_$arch.deb"
done
