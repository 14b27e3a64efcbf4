#!/usr/bin/env bash
# Builds the Debian packages of debian/ out of the tree, installs them on
# this machine and checks what was installed: the programs run (edvctl
# finds the installed tiers.json), edvd's unit verifies and its user
# exists, the man page is found, a program builds against libedv-dev.
#
#     bash scripts/deb-check.sh
#
# Installing needs root, or sudo without a password: without either it
# says so and exits 77 (skipped). The build is DEB_BUILD_OPTIONS=nocheck
# (.ci/run runs the suite on its own), parallel on every core, through
# ccache when it is installed. The copy of the tree, the build and the
# .debs live in a temporary directory, removed at the end; nothing is
# written into the repository. The packages are purged at the end unless
# DEB_KEEP=DIR, where the .debs and the build log are copied and the
# packages stay installed.
set -eu
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    echo "deb-check: skipped: installing a package needs root or sudo"
    exit 77
  fi
fi
for tool in dpkg-buildpackage dh; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "deb-check: $tool is missing (apt-get install debhelper)" >&2
    exit 1
  }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edv-deb.XXXXXX")
installed=()
cleanup() {
  if [ ${#installed[@]} -gt 0 ] && [ -z "${DEB_KEEP:-}" ]; then
    $SUDO dpkg --purge "${installed[@]}" >/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "deb-check: FAIL: $*" >&2
  exit 1
}

# The tree as it is checked out (tracked files, and new ones not ignored):
# no build directories, no unpacked subprojects.
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
src="$tmp/edvirons-$version"
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -xf - -C "$src"
else
  tar --exclude='./build*' --exclude='./subprojects/*-*' -cf - . |
    tar -xf - -C "$src"
fi

if command -v ccache >/dev/null 2>&1; then
  # debhelper gives the build a HOME of its own: keep the user's cache.
  CCACHE_DIR=$(ccache -k cache_dir 2>/dev/null || echo "$HOME/.cache/ccache")
  export CCACHE_DIR CCACHE_BASEDIR="$tmp" CCACHE_NOHASHDIR=1
fi
DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)"
export DEB_BUILD_OPTIONS DEB_BUILD_PROFILES=nocheck
echo "== deb build (dpkg-buildpackage -us -uc -b, $DEB_BUILD_OPTIONS)"
start=$(date +%s)
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 || {
  tail -n 60 "$tmp/build.log"
  fail "dpkg-buildpackage (the log's end is above)"
}
echo "== deb built in $(($(date +%s) - start)) s:" \
  "$(cd "$tmp" && echo ./*.deb)"
# Nothing below may use the build tree (edvctl would find its tiers.json).
rm -rf "$src"

arch=$(dpkg --print-architecture)
debs=("$tmp/edvirons_${version}_$arch.deb" "$tmp/libedv-dev_${version}_$arch.deb")
contents=$(dpkg-deb -c "${debs[0]}")
for f in ./usr/bin/edvctl ./usr/bin/edv-gcpsim ./usr/sbin/edvd \
  ./lib/systemd/system/edvd.service ./usr/lib/sysusers.d/edv.conf \
  ./usr/share/edv/tiers.json ./usr/share/edv/openapi.json \
  ./usr/share/edv/openapi.yaml ./usr/share/man/man1/edvctl.1.gz \
  ./usr/share/man/man8/edvd.8.gz ./usr/share/man/man1/edv-gcpsim.1.gz \
  ./usr/share/bash-completion/completions/edvctl \
  ./usr/share/zsh/vendor-completions/_edvctl \
  ./usr/share/fish/vendor_completions.d/edvctl.fish \
  ./usr/share/doc/edvirons/examples/edv.conf \
  ./usr/share/doc/edvirons/copyright; do
  grep -q " $f\$" <<<"$contents" || fail "${debs[0]##*/} has no $f"
done

echo "== deb install"
$SUDO dpkg -i "${debs[@]}" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log"
  fail "dpkg -i"
}
installed=(edvirons libedv-dev)
[ -n "${DEB_KEEP:-}" ] && cp "${debs[@]}" "$tmp/build.log" "$DEB_KEEP"/

run() { # what it checks, command...
  local what=$1 out
  shift
  out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; fail "$what: $*"; }
  echo "ok - $what"
}
work="$tmp/work"
mkdir -p "$work"
cd "$work"
run "edvctl version" /usr/bin/edvctl version
run "edv-gcpsim --help" /usr/bin/edv-gcpsim --help
run "edvd --help" /usr/sbin/edvd --help
# Not ./tiers.json nor the (removed) build tree's: the installed copy.
EDV_STATE_DIR="$work/state" XDG_CONFIG_HOME="$work" \
  run "edvctl tiers list (the installed tiers.json)" /usr/bin/edvctl tiers list
run "the edv user (sysusers.d/edv.conf)" getent passwd edv
[ "$(systemctl is-enabled edvd.service 2>/dev/null || true)" != enabled ] ||
  fail "edvd.service is enabled by the install (it needs /etc/edv/edv.conf)"

if command -v systemd-analyze >/dev/null 2>&1; then
  man=no
  command -v man >/dev/null 2>&1 && [ -e /usr/share/man/man8/edvd.8.gz ] &&
    man=yes
  if out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=$man \
    /lib/systemd/system/edvd.service 2>&1) && ! grep -q edvd <<<"$out"; then
    echo "ok - systemd-analyze verify edvd.service (man: $man)"
  elif grep -qE "Failed to initialize manager|Failed to setup working directory|System has not been booted" <<<"$out"; then
    echo "# systemd-analyze cannot run here: $out"
  else
    printf '%s\n' "$out" >&2
    fail "systemd-analyze verify /lib/systemd/system/edvd.service"
  fi
else
  echo "# no systemd-analyze: the unit is not verified"
fi

# Docker's Debian images keep dpkg from writing man pages (path-exclude).
if command -v man >/dev/null 2>&1 && [ -e /usr/share/man/man1/edvctl.1.gz ]; then
  run "man -w edvctl" man -w edvctl
  run "man -w edvd" man -w 8 edvd
else
  echo "# man or the installed pages missing: man -w not tried"
fi

# libedv-dev: a program against the installed headers and libedv.so.
cat >"$work/v.c" <<'EOF'
#include <stdio.h>
#include <edv/version.h>
int main(void)
{
  printf("%s\n", edv_version());
  return 0;
}
EOF
# shellcheck disable=SC2046
run "a program built with pkg-config libedv" \
  cc -o "$work/v" "$work/v.c" $(pkg-config --cflags --libs libedv)
[ "$("$work/v")" = "$version" ] || fail "libedv says $("$work/v"), not $version"
echo "ok - it runs against libedv.so: $version"
echo "deb-check: all passed"
