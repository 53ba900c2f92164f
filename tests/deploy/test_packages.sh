#!/usr/bin/env bash
# test_packages: the Debian packages, built from this build directory by
# deploy/debian/build-debs.sh (no compiling), checked, installed on this machine, used, purged.
#   test_packages.sh BUILD_DIR SOURCE_DIR
# Asserts: the four packages and their versions (meson's); their files in Debian's places and no
# path of the build or source tree in any of them; the library's shlibs and the exact dependency
# on it; dpkg -i works (twice: the maintainer scripts are idempotent) with the dependencies this
# machine has; the installed programs run; pkg-config finds hpoclient and a C program built
# against the installed header and library (not the build's) runs and reaches libcurl; man finds
# the pages; the system user hpo, the empty 0600 password file, the conffile; nothing is started;
# a unit enabled with systemctl is disabled again on removal; dpkg --purge leaves none of the
# packages' files. Needs root. Packages of an earlier run are purged first; the hpo user is
# removed at the end when this run made it.
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR
[[ $# -eq 2 ]] || fail "usage: test_packages.sh BUILD_DIR SOURCE_DIR"
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
[[ $(id -u) -eq 0 ]] || fail "needs root (it installs and purges packages with dpkg)"
for tool in dpkg-deb dpkg-shlibdeps pkg-config cc man ldd; do
    command -v "$tool" >/dev/null || fail "$tool is missing: bash deploy/install-deps.sh --tests"
done
start=$SECONDS

read -r prefix version < <(python3 - "$build/meson-info" <<'EOF'
import json, os, sys
d = sys.argv[1]
opts = {o["name"]: o["value"] for o in json.load(open(os.path.join(d, "intro-buildoptions.json")))}
print(opts["prefix"], json.load(open(os.path.join(d, "intro-projectinfo.json")))["version"])
EOF
)
[[ $prefix == /usr ]] ||
    fail "the build directory has prefix $prefix: packages need -Dprefix=/usr (deploy/test.sh configures build-test so)"
debversion=$version-1
arch=$(dpkg --print-architecture)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=libhpoclient${version%%.*}
packages=(libhpoclient-dev hpo-worker hpo-server "$lib")

status() { # ii, rc, ...; empty when dpkg knows nothing of it
    local s
    s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | tr -d ' ') || true
    [[ $s == un ]] || echo "$s"
}
# dpkg, waiting up to 60 s for its lock when another installation holds it
dpkg_locked() {
    local out rc i
    for i in $(seq 60); do
        rc=0
        out=$(dpkg "$@" 2>&1) || rc=$?
        if ((rc)) && grep -q -i 'lock' <<<"$out"; then
            sleep 1
            continue
        fi
        printf '%s\n' "$out"
        return "$rc"
    done
    printf '%s\n' "$out"
    return 1
}
purge_ours() {
    local p installed=()
    for p in "${packages[@]}"; do [[ -n $(status "$p") ]] && installed+=("$p"); done
    ((${#installed[@]} == 0)) || dpkg_locked --purge "${installed[@]}" >/dev/null
}

for p in "${packages[@]}"; do
    if [[ -n $(status "$p") ]]; then
        echo "packages of an earlier run are there: purging them first"
        purge_ours || fail "cannot purge the packages left by an earlier run"
        break
    fi
done
user_before=0
getent passwd hpo >/dev/null && user_before=1
wants=/etc/systemd/system/multi-user.target.wants/hpo-server.service

tmp=$(mktemp -d /tmp/hpo-packages.XXXXXX)
cleanup() {
    local rc=$?
    purge_ours || true
    if ((!user_before)) && getent passwd hpo >/dev/null; then
        userdel hpo 2>/dev/null || true
        getent group hpo >/dev/null && groupdel hpo 2>/dev/null || true
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT

# ---- build ----
bash "$src/deploy/debian/build-debs.sh" --build-dir "$build" "$tmp/debs" >"$tmp/built" ||
    fail "build-debs.sh failed"
debs=()
for p in "${packages[@]}"; do
    f=$tmp/debs/${p}_${debversion}_$arch.deb
    [[ -f $f ]] || fail "no $f (built: $(tr '\n' ' ' <"$tmp/built"))"
    debs+=("$f")
    [[ $(dpkg-deb -f "$f" Package) == "$p" && $(dpkg-deb -f "$f" Version) == "$debversion" ]] ||
        fail "$f: Package/Version are $(dpkg-deb -f "$f" Package Version | tr '\n' ' ')"
done
[[ $(find "$tmp/debs" -name '*.deb' | wc -l) -eq ${#packages[@]} ]] ||
    fail "build-debs.sh made other packages: $(ls "$tmp/debs")"
deb() { echo "$tmp/debs/${1}_${debversion}_$arch.deb"; }

# ---- metadata ----
depends() { dpkg-deb -f "$(deb "$1")" Depends; }
grep -q "$lib (= $debversion)" <<<"$(depends hpo-worker)" ||
    fail "hpo-worker does not depend on $lib (= $debversion): $(depends hpo-worker)"
grep -q "$lib (= $debversion)" <<<"$(depends libhpoclient-dev)" ||
    fail "libhpoclient-dev does not depend on $lib: $(depends libhpoclient-dev)"
for d in libpq5 libmicrohttpd12 libjansson4 passwd; do
    grep -q "\b$d\b" <<<"$(depends hpo-server)" || fail "hpo-server does not depend on $d: $(depends hpo-server)"
done
grep -q "libcurl4" <<<"$(depends "$lib")" || fail "$lib does not depend on libcurl4: $(depends "$lib")"
[[ $(dpkg-deb -I "$(deb "$lib")" shlibs) == "libhpoclient ${version%%.*} $lib (= $debversion)" ]] ||
    fail "$lib shlibs: $(dpkg-deb -I "$(deb "$lib")" shlibs)"
dpkg-deb -I "$(deb "$lib")" triggers | grep -q 'activate-noawait ldconfig' || fail "$lib does not trigger ldconfig"
[[ $(dpkg-deb -I "$(deb hpo-server)" conffiles) == /etc/hpo/server.env ]] ||
    fail "hpo-server conffiles: $(dpkg-deb -I "$(deb hpo-server)" conffiles)"

# ---- contents: Debian's places, each file in one package, no build or source path inside ----
contents() { dpkg-deb --contents "$(deb "$1")" | awk '{print $6}' | sed 's|^\./|/|'; }
expect() { # PACKAGE PATH...
    local p=$1 f list
    shift
    list=$(contents "$p")
    for f in "$@"; do grep -qxF "$f" <<<"$list" || fail "$p lacks $f; it has:"$'\n'"$list"; done
}
expect hpo-server /usr/bin/hpo-server /usr/lib/systemd/system/hpo-server.service \
    /usr/share/man/man8/hpo-server.8.gz /etc/hpo/server.env /usr/lib/sysusers.d/hpo.conf \
    /usr/share/doc/hpo-server/copyright
expect hpo-worker /usr/bin/hpo-worker /usr/bin/hpo /usr/lib/systemd/system/hpo-worker@.service \
    /usr/share/man/man1/hpo-worker.1.gz /usr/share/man/man1/hpo.1.gz /usr/share/hpo/worker.env
expect "$lib" "/usr/lib/$ma/libhpoclient.so.${version%%.*}" "/usr/lib/$ma/libhpoclient.so.$version"
expect libhpoclient-dev "/usr/lib/$ma/libhpoclient.so" "/usr/lib/$ma/pkgconfig/hpoclient.pc" \
    /usr/include/hpo/hpo_client.h /usr/include/hpo/hpo_error.h /usr/share/man/man3/libhpoclient.3.gz
all=$(for p in "${packages[@]}"; do contents "$p" | grep -v '/$'; done)
dups=$(sort <<<"$all" | uniq -d)
[[ -z $dups ]] || fail "files in two packages: $dups"
bad=$(grep -v -E '^/(usr/(bin|lib|include|share)|etc/hpo)/' <<<"$all" || true)
[[ -z $bad ]] || fail "files outside /usr and /etc/hpo: $bad"
for p in "${packages[@]}"; do dpkg-deb -x "$(deb "$p")" "$tmp/x"; done
leaks=$(grep -r -l -a -F -e "$build" -e "$src" "$tmp/x" || true)
[[ -z $leaks ]] || fail "build or source paths inside: $leaks"
echo "built and checked ${#packages[@]} packages ($((SECONDS - start)) s)"

# ---- install, twice ----
out=$(dpkg_locked -i "${debs[@]}") || fail "dpkg -i failed (missing dependencies? bash deploy/install-deps.sh --tests):"$'\n'"$out"
out=$(dpkg_locked -i "${debs[@]}") || fail "dpkg -i a second time failed:"$'\n'"$out"
for p in "${packages[@]}"; do [[ $(status "$p") == ii ]] || fail "$p is $(status "$p"), not installed"; done

# ---- the installed programs ----
[[ $(/usr/bin/hpo-server --help) == "usage: hpo-server "* ]] || fail "hpo-server --help"
[[ $(/usr/bin/hpo-worker --help) == "usage: hpo-worker "* ]] || fail "hpo-worker --help"
[[ $(/usr/bin/hpo --version) == "hpo $version" ]] || fail "hpo --version: $(/usr/bin/hpo --version)"
installed_lib=$(readlink -f "/usr/lib/$ma/libhpoclient.so.${version%%.*}")
for bin in /usr/bin/hpo-worker /usr/bin/hpo; do
    used=$(env -u LD_LIBRARY_PATH ldd "$bin" | awk '$1 ~ /^libhpoclient/ {print $3}')
    [[ -n $used && $(readlink -f "$used") == "$installed_lib" ]] ||
        fail "$bin uses '$used', not $installed_lib"
done

# ---- the library for C programs ----
[[ $(pkg-config --modversion hpoclient) == "$version" ]] || fail "pkg-config --modversion hpoclient"
flags=$(pkg-config --cflags --libs hpoclient) || fail "pkg-config --cflags --libs hpoclient"
grep -q -- '-I/usr/include/hpo' <<<"$flags" && grep -q -- '-lhpoclient' <<<"$flags" ||
    fail "pkg-config hpoclient gives: $flags"
cat >"$tmp/client.c" <<'EOF'
/* A client of the installed libhpoclient: a token file that is not there is refused naming it,
 * and a request to a closed port ends unavailable (through libcurl) without retries. */
#include <stdio.h>
#include <string.h>
#include <hpo_client.h>

int main(int argc, char **argv)
{
    hpo_error err = {0};
    char *token = NULL;
    hpo_rc rc = hpo_client_token_read_file(argv[1], &token, &err);
    if (rc != HPO_E_INVALID || !strstr(err.message, argv[1]))
        return fprintf(stderr, "token_read_file: %s %s\n", hpo_rc_name(rc), err.message), 1;
    hpo_client *c = NULL;
    hpo_client_options o = {.server = argc > 2 ? argv[2] : "", .max_retries = -1,
                            .timeout_ms = 5000};
    if ((rc = hpo_client_new(&o, &c, &err)) != HPO_OK)
        return fprintf(stderr, "new: %s %s\n", hpo_rc_name(rc), err.message), 1;
    json_t *studies = NULL;
    rc = hpo_client_study_list(c, &studies, &err);
    printf("%s\n", hpo_rc_name(rc));
    json_decref(studies);
    hpo_client_free(c);
    return 0;
}
EOF
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$tmp/client" "$tmp/client.c" $flags || fail "the C program does not build"
used=$(env -u LD_LIBRARY_PATH ldd "$tmp/client" | awk '$1 ~ /^libhpoclient/ {print $3}')
[[ $(readlink -f "$used") == "$installed_lib" ]] || fail "the C program uses '$used'"
got=$(env -u LD_LIBRARY_PATH "$tmp/client" "$tmp/no-such.token" http://127.0.0.1:1) ||
    fail "the C program failed"
[[ $got == unavailable ]] || fail "the C program got '$got' from a closed port, expected unavailable"

# ---- man pages, the user, the files the scripts make; nothing started ----
[[ $(man -w hpo-worker) == /usr/share/man/man1/hpo-worker.1.gz ]] || fail "man -w hpo-worker: $(man -w hpo-worker 2>&1)"
[[ $(man -w 8 hpo-server) == /usr/share/man/man8/hpo-server.8.gz ]] || fail "man -w 8 hpo-server"
[[ $(man -w 3 libhpoclient) == /usr/share/man/man3/libhpoclient.3.gz ]] || fail "man -w 3 libhpoclient"
IFS=: read -r _ _ uid _ _ home shell < <(getent passwd hpo) || fail "no user hpo after install"
((uid < 1000)) && [[ $home == /var/lib/hpo && $shell == /usr/sbin/nologin ]] ||
    fail "user hpo: uid $uid, home $home, shell $shell"
[[ $(stat -c '%a %U' /etc/hpo/server.pgpass) == "600 root" ]] ||
    fail "/etc/hpo/server.pgpass: $(stat -c '%a %U' /etc/hpo/server.pgpass 2>&1)"
for proc in /proc/[0-9]*; do
    [[ $(readlink "$proc/exe" 2>/dev/null) == /usr/bin/hpo-server ]] && fail "the installation started hpo-server"
done
enabled=0
if command -v systemctl >/dev/null && systemctl enable hpo-server.service >/dev/null 2>&1 && [[ -L $wants ]]; then
    enabled=1
fi

# ---- purge ----
out=$(dpkg_locked --purge "${packages[@]}") || fail "dpkg --purge failed:"$'\n'"$out"
for p in "${packages[@]}"; do [[ -z $(status "$p") ]] || fail "$p is still known to dpkg: $(status "$p")"; done
left=$(while read -r f; do if [[ -e $f || -L $f ]]; then echo "$f"; fi; done <<<"$all")
[[ -z $left ]] || fail "files left after purge: $left"
[[ ! -e /etc/hpo/server.pgpass ]] || fail "/etc/hpo/server.pgpass left after purge"
((!enabled)) || [[ ! -L $wants ]] || fail "the enabled unit's link $wants is left after purge"
getent passwd hpo >/dev/null || fail "purge removed the user hpo (it is kept: files may still be its)"
echo "installed, used and purged; systemctl enable offline: $( ((enabled)) && echo checked || echo 'not available here')"
echo "packages test: $((SECONDS - start)) s"
