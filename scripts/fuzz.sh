#!/usr/bin/env bash
# Fuzzing with libFuzzer under AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer included). The harnesses are tests/fuzz/fuzz_*.c; see
# docs/benchmarks.md ("Fuzzing") and docs/HACKING.md.
#
#   scripts/fuzz.sh ci [SECONDS]
#       Builds build-fuzz (clang, -Dfuzz=true) and runs every harness for
#       SECONDS (default 20) from its seed corpus, two at a time, as the
#       meson tests of the 'fuzz' suite. Prints each harness's executions
#       and exec/s; exits non-zero on any crash, leak, undefined behaviour,
#       timeout or build failure.
#
#   scripts/fuzz.sh long [SECONDS] [NAME...]
#       The long campaign: each harness (or the NAMEs given, e.g. "spec")
#       runs until 10 million executions ($FUZZ_RUNS) or SECONDS (default
#       3600), $FUZZ_JOBS (default 2) at a time. New corpus entries and
#       crashing inputs go to build-fuzz/tests/fuzz/work/NAME/, never to the
#       repository.
set -u
cd "$(dirname "$0")/.." || exit 1
mode=${1:-}
build="build-fuzz"
work=$build/tests/fuzz/work

setup() {
  if [ ! -f "$build/build.ninja" ]; then
    command -v clang >/dev/null ||
      { echo "fuzz.sh: clang is needed (apt-get install clang libclang-rt-14-dev)"; return 1; }
    # No --werror: clang warns where gcc (the builds that enforce -Werror)
    # does not; the harnesses are checked by running them.
    CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
      -Db_lundef=false >"$build.setup.log" 2>&1 ||
      { cat "$build.setup.log"; return 1; }
  fi
  ninja -C "$build" -j "${FUZZ_JOBS:-2}" || return 1
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

case "$mode" in
ci)
  secs=${2:-20}
  setup || exit 1
  rm -f "$work"/*/summary # the corpus found so far is kept and replayed
  FUZZ_SECONDS=$secs meson test -C "$build" --suite fuzz --print-errorlogs \
    --num-processes "${FUZZ_JOBS:-2}"
  status=$?
  echo "== fuzzing figures (${secs}s each)"
  cat "$work"/*/summary 2>/dev/null
  exit $status
  ;;
long)
  secs=${2:-3600}
  shift $(($# < 2 ? $# : 2))
  setup || exit 1
  names=("$@")
  if [ ${#names[@]} -eq 0 ]; then
    for exe in "$build"/tests/fuzz/fuzz_*; do
      [ -x "$exe" ] && [ -f "$exe" ] && names+=("${exe##*/fuzz_}")
    done
  fi
  export FUZZ_SECONDS=$secs FUZZ_RUNS=${FUZZ_RUNS:-10000000}
  printf '%s\n' "${names[@]}" |
    xargs -P "${FUZZ_JOBS:-2}" -I{} tests/fuzz/run.sh \
      "$build/tests/fuzz/fuzz_{}" {} tests/fuzz "$work"
  status=$?
  echo "== fuzzing figures"
  for n in "${names[@]}"; do cat "$work/$n/summary"; done
  exit $status
  ;;
*)
  sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit 2
  ;;
esac
