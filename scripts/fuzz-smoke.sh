#!/usr/bin/env bash
# Fuzz smoke run: every cargo-fuzz target for N seconds (default 20), starting from the
# committed seeds in fuzz/seeds/<target>/ (new inputs go to fuzz/corpus/<target>/, ignored by
# git). Exits non-zero on the first crash; libFuzzer leaves the reproducer in
# fuzz/artifacts/<target>/ (replay it with `cargo fuzz run <target> <file>`).
#
#   scripts/fuzz-smoke.sh            # 20 s per target
#   scripts/fuzz-smoke.sh 300        # 5 minutes per target
#   FUZZ_TARGETS="sst manifest" scripts/fuzz-smoke.sh 60
#
# A long run of one target (stop with Ctrl-C; add -jobs=N -workers=N for more cores):
#   cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s none sst corpus/sst seeds/sst
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). cargo-fuzz passes nightly-only
# flags to rustc; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-20}
targets=${FUZZ_TARGETS:-"wal_segment manifest sst load_parsers"}
export RUSTC_BOOTSTRAP=1
# Safe Rust needs no AddressSanitizer: building without it is faster to build and to run.
flags=(-s none --release)
cargo fuzz build "${flags[@]}"
for t in $targets; do
  mkdir -p "corpus/$t"
  echo "== fuzz $t for ${secs}s"
  log=$(mktemp)
  if ! cargo fuzz run "${flags[@]}" "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    rm -f "$log"
    echo "fuzz-smoke: target $t crashed (reproducer in fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^Done' "$log" || true
  rm -f "$log"
done
echo "fuzz-smoke: ok"
