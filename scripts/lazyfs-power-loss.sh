#!/usr/bin/env bash
# Black-box power-loss test of the nokv binary on LazyFS (a FUSE filesystem that drops every
# byte not fsynced on command, and can tear unsynced writes). Opt-in: needs /dev/fuse, root
# (or fuse permissions) and the LazyFS build; neither `.ci/run` nor `cargo test` runs it.
#
#   scripts/lazyfs-power-loss.sh                          # 30 rounds, random seed
#   scripts/lazyfs-power-loss.sh path/to/nokv             # that binary (default: cargo build --release)
#   ROUNDS=200 SEED=42 LAZYFS=/path/to/lazyfs scripts/lazyfs-power-loss.sh
#
# Each round: a load that exits 0 (acknowledged), a second load killed, completed or torn by a
# LazyFS injection, a power loss (clear-cache, unmount, mount), then verify/export/flush checked
# against what was fed. See scripts/lazyfs_power_loss.py for the checks. Prints one line per
# round and the totals; exits 1 on any failure, with the seed and the kept backing directory.
# Knobs: ROUNDS (30), SEED (random), LAZYFS, BASE (scratch dir, default /tmp/nokv-lazyfs.SEED),
# FAST_REFUSAL_FAILS=1 (a fast-mode workdir refused after a mid-run power loss, which the
# README documents, counts as a failure), REORDER=0 (no rounds that reorder whole unsynced WAL
# appends: the engine refuses such a workdir today, see the README's Crash testing section).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -ge 1 ]]; then
  nokv=$1
else
  # The default binary is (re)built from this checkout, so it is never stale.
  nokv="${CARGO_TARGET_DIR:-target}/release/nokv"
  cargo build --release --quiet
fi
[[ -x $nokv ]] || { echo "lazyfs-power-loss: no nokv binary at $nokv" >&2; exit 1; }
lazyfs=${LAZYFS:-/tmp/i11b-lazyfs/lazyfs-pkg/lazyfs/lazyfs/build/lazyfs}
if [[ ! -x $lazyfs ]]; then
  echo "lazyfs-power-loss: building LazyFS (about 4 minutes)" >&2
  lazyfs=$(bash /work/shared/tools/lazyfs/build.sh /tmp/lazyfs-build | tail -1)
fi
[[ -x $lazyfs ]] || { echo "lazyfs-power-loss: no lazyfs binary at $lazyfs" >&2; exit 1; }
[[ -e /dev/fuse ]] || { echo "lazyfs-power-loss: /dev/fuse missing" >&2; exit 1; }
command -v fusermount3 >/dev/null || { echo "lazyfs-power-loss: fusermount3 missing" >&2; exit 1; }
seed=${SEED:-$(( (RANDOM << 15) | RANDOM ))}
base=${BASE:-/tmp/nokv-lazyfs.$seed}
mnt=$base/mnt
mkdir -p "$base"
# Never leave a mount behind, whatever happens to the driver.
cleanup() {
  if grep -qs " $mnt fuse.lazyfs " /proc/mounts; then
    fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null || true
  fi
}
trap cleanup EXIT
extra=()
[[ ${FAST_REFUSAL_FAILS:-0} == 1 ]] && extra+=(--fast-refusal-fails)
[[ ${REORDER:-1} == 0 ]] && extra+=(--no-reorder)
python3 scripts/lazyfs_power_loss.py --nokv "$nokv" --lazyfs "$lazyfs" --rounds "${ROUNDS:-30}" \
  --seed "$seed" --base "$base" "${extra[@]}"
