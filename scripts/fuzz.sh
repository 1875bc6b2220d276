#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for a while (libFuzzer via cargo-fuzz on
# nightly Rust), and exits non-zero if any target finds a crash, a panic, a
# hang (an input taking over 10 s) or runs out of memory.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 30)
#   FUZZ_TARGETS="patch sse"  only these targets (default: all four)
#   FUZZ_JOBS=N               libFuzzer workers per target (default 1)
#
# Without a nightly toolchain it falls back to the same checks under
# proptest (server/tests/fuzz_props.rs), with a case count scaled by the
# time budget. Crash inputs are left in fuzz/artifacts/<target>/; copy one
# into fuzz/seeds/<target>/ once fixed, so it is replayed by `cargo test`.
#
# A longer run, e.g. an hour per target: scripts/fuzz.sh 3600
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
targets=(${FUZZ_TARGETS:-patch sse document settings})
jobs="${FUZZ_JOBS:-1}"

proptest_fallback() {
  echo "fuzz.sh: $1; running the same checks under proptest instead"
  cases=$(( seconds * 100 ))
  FUZZ_PROPTEST_CASES="$cases" exec cargo test -p codex-lsp --test fuzz_props --locked
}

if ! cargo +nightly --version >/dev/null 2>&1; then
  proptest_fallback "no nightly toolchain"
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked || proptest_fallback "cargo-fuzz could not be installed"
fi

# The fuzz crate is its own workspace with its own target directory
# (sanitizer builds share nothing with the stable builds).
export CARGO_TARGET_DIR="$PWD/fuzz/target"

start=$(date +%s)
cargo +nightly fuzz build --debug-assertions
echo "fuzz.sh: build took $(( $(date +%s) - start )) s"

status=0
summary=()
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  log="fuzz/artifacts/$target/last-run.log"
  echo "== fuzz $target for ${seconds}s =="
  extra=()
  if [ "$jobs" -gt 1 ]; then extra=(-jobs="$jobs" -workers="$jobs"); fi
  if cargo +nightly fuzz run --debug-assertions "$target" "$corpus" "fuzz/seeds/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      "${extra[@]}" >"$log" 2>&1; then
    result="ok"
  else
    result="FAILED (see $log and fuzz/artifacts/$target/)"
    status=1
    tail -n 40 "$log"
  fi
  runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -n 1 | grep -Eo '[0-9]+' || true)
  [ -n "$runs" ] || runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+$' || echo "?")
  summary+=("$target: $runs executions, $result")
done

echo
echo "== fuzz summary (${seconds}s per target, total $(( $(date +%s) - start )) s) =="
printf '%s\n' "${summary[@]}"
exit "$status"
