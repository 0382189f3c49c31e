#!/usr/bin/env bash
# Long black-box soak of the nokv binary: many random SIGKILL cycles, the full kill-point sweep
# and the fault injections of tests/blackbox.rs, in a release build.
#
#   scripts/soak.sh                 # 5000 random kill cycles, default seed
#   scripts/soak.sh 20000 12345     # cycles, seed
#
# Every violation is printed as `VIOLATION [...]` with the seed; the failing workdir and its
# oracle-side files are copied to $TMPDIR/nokv-blackbox-<test>-<seed>.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-5000}
seed=${2:-$(date +%s)}
command -v strace >/dev/null 2>&1 || echo "soak: strace missing: kill points and faults are skipped" >&2
echo "soak: $cycles cycles, seed $seed" >&2
NOKV_SOAK_CYCLES=$cycles NOKV_BLACKBOX_SEED=$seed NOKV_KILLPOINT_CAP=${NOKV_KILLPOINT_CAP:-400} \
  NOKV_FAULTS=${NOKV_FAULTS:-60} \
  cargo test --release --test blackbox -- --nocapture --test-threads 2
