#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages EdVirons builds and tests with, when
# any is missing. Uses sudo when not root. Shared by .ci/run and
# scripts/quickstart.sh so the two can never disagree. clang and
# libclang-rt-14-dev build the libFuzzer harnesses (scripts/fuzz.sh);
# debhelper builds the Debian package (scripts/deb-check.sh); prometheus
# brings promtool, which checks the alert rules of examples/prometheus/;
# libjs-chart.js is the Chart.js edvd embeds for its dashboard's charts and
# chromium the headless browser the dashboard's test runs
# (tests/integration/edvd/test_edvd_dashboard.c).
set -eu
PKGS="meson ninja-build pkg-config gcc libuv1-dev libcurl4-openssl-dev \
libjson-c-dev libssl-dev libjwt-dev libjansson-dev libmicrohttpd-dev \
libsqlite3-dev libcmocka-dev python3 curl ca-certificates nginx-light \
shellcheck systemd openssl wrk python3-yaml python3-jsonschema zsh fish \
scdoc libsystemd-dev clang libclang-rt-14-dev debhelper prometheus \
libjs-chart.js chromium"
missing=""
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "== installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
