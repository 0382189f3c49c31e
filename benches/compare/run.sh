#!/usr/bin/env bash
# Side-by-side performance harness: nokv against RocksDB 7.8's `ldb` and `db_bench` (Debian's
# rocksdb-tools), the workloads and bars of SPEC section 6. Not part of CI.
#
#   bash benches/compare/run.sh                 # full: 1,000,000 synthetic records and
#                                               # 5,000,000 path-like ones, 3 interleaved rounds
#   ROUNDS=5 RECORDS=200000 PATH_RECORDS=1000000 bash benches/compare/run.sh
#   QUICK=1 bash benches/compare/run.sh         # smoke test: 20,000 records, 1 round
#
# Two data sets: synthetic (16-byte keys `key%013d`, 100-byte values) and path-like (real file
# paths of this machine from `find /usr`, repeated under synthetic roots: keys 20-150 bytes with
# long shared prefixes, values the base name; see paths.py). Both engines use one codec,
# COMPRESSION (lz4, zstd or none; default lz4). DATASETS="synthetic paths" picks the sets.
# Other knobs: SYNC_PUTS (20000), GET_RUNS (20), SCAN_RUNS (3), PATH_SUBSET (1,000,000: the
# smaller path workdir `nokv get` is compared with), WORK (scratch dir, default
# target/compare/work; it must be on the disk you want to measure).
# Prints the table and writes target/compare/results.md (table + raw per-round figures) and
# target/compare/raw.tsv.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    RECORDS=${RECORDS:-20000}
    ROUNDS=${ROUNDS:-1}
    SYNC_PUTS=${SYNC_PUTS:-2000}
    GET_RUNS=${GET_RUNS:-5}
    PATH_RECORDS=${PATH_RECORDS:-20000}
    PATH_SUBSET=${PATH_SUBSET:-4000}
fi
RECORDS=${RECORDS:-1000000}
PATH_RECORDS=${PATH_RECORDS:-5000000}
PATH_SUBSET=${PATH_SUBSET:-1000000}
COMPRESSION=${COMPRESSION:-lz4}
DATASETS=${DATASETS:-synthetic paths}
case $COMPRESSION in
    lz4 | zstd) LDB_CODEC=$COMPRESSION ;;
    none) LDB_CODEC=no ;;
    *) echo "COMPRESSION must be lz4, zstd or none" >&2; exit 2 ;;
esac
export NOKV_COMPRESSION=$COMPRESSION
has_set() { case " $DATASETS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
ROUNDS=${ROUNDS:-3}
SYNC_PUTS=${SYNC_PUTS:-20000}
GET_RUNS=${GET_RUNS:-20}
SCAN_RUNS=${SCAN_RUNS:-3}
OUT=$ROOT/target/compare
WORK=${WORK:-$OUT/work}
RAW=$OUT/raw.tsv
LOG=$OUT/run.log

say() { printf '%s\n' "$*" >&2; }

# ---- tools ---------------------------------------------------------------------------------
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
need_pkg() { # need_pkg PACKAGE COMMAND...
    local pkg=$1 missing=0
    shift
    for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing=1; done
    if [ $missing = 1 ]; then
        say "installing $pkg"
        as_root apt-get install -y "$pkg" >/dev/null 2>&1 ||
            { as_root apt-get update >/dev/null 2>&1 && as_root apt-get install -y "$pkg" >/dev/null; }
    fi
}
need_pkg rocksdb-tools ldb db_bench
[ -x /usr/bin/time ] || need_pkg time /usr/bin/time
command -v hyperfine >/dev/null 2>&1 || need_pkg hyperfine hyperfine || true
command -v python3 >/dev/null || { say "python3 is needed for the summary"; exit 1; }

say "building (cargo build --release)"
cargo build --release --quiet --bin nokv --example nokv_bench
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
NOKV=$TARGET/release/nokv
NB=$TARGET/release/examples/nokv_bench

rm -rf "$WORK"
mkdir -p "$WORK" "$OUT"
: >"$LOG"
printf 'round\tworkload\tengine\tvalue\tunit\n' >"$RAW"
rec() { printf '%s\t%s\t%s\t%s\t%s\n' "$ROUND" "$1" "$2" "$3" "$4" >>"$RAW"; say "  r$ROUND $1 $2: $3 $4"; }

# ---- data ----------------------------------------------------------------------------------
D=$WORK/data
if has_set synthetic; then
    say "generating $RECORDS records (16-byte keys, 100-byte values; random and sorted; tsv and ldb)"
    "$NB" gen "$RECORDS" "$D"
    KEY=$(sed -n "$((RECORDS / 2 + 1))p" "$D/kv_sorted.tsv" | cut -f1)
fi
if has_set paths; then
    say "generating $PATH_RECORDS path-like records"
    python3 "$ROOT/benches/compare/paths.py" "$PATH_RECORDS" "$PATH_SUBSET" "$D"
    PKEY=$(cat "$D/paths_key")
fi
C=(--num="$RECORDS" --key_size=16 --value_size=100 --compression_type="$COMPRESSION" --threads=1)

# ---- helpers -------------------------------------------------------------------------------
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", (b - a) / 1e9 }'; }
per_sec() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
# timed_rss RSSFILE CMD... : runs CMD under /usr/bin/time, peak RSS (KiB) into RSSFILE.
timed_rss() { local f=$1; shift; /usr/bin/time -f %M -o "$f" "$@" >>"$LOG" 2>&1; }
# db_bench_ops LOGFILE NAME: the ops/sec figure of benchmark NAME.
db_bench_ops() { awk -v b="$2" '$1 == b && $2 == ":" { for (i = 1; i <= NF; i++) if ($i == "ops/sec" || $i == "ops/sec;") print $(i - 1) }' "$1" | tail -1; }
nb_result() { awk -v b="$2" '$1 == "RESULT" && $2 == b { print $3 }' "$1" | tail -1; }
# median wall seconds of a command, by hyperfine (or a loop).
median_wall() { # median_wall RUNS WARMUP CMD-STRING
    local runs=$1 warm=$2 cmd=$3 j=$WORK/hf.json
    if command -v hyperfine >/dev/null; then
        hyperfine -N --runs "$runs" --warmup "$warm" --export-json "$j" "$cmd" >>"$LOG" 2>&1
        python3 -c 'import json,sys; print("%.5f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$j"
    else
        local t=()
        for _ in $(seq "$warm"); do bash -c "$cmd" >/dev/null 2>&1; done
        for _ in $(seq "$runs"); do
            local a b
            a=$(now); bash -c "$cmd" >/dev/null 2>&1; b=$(now)
            t+=("$(secs "$a" "$b")")
        done
        printf '%s\n' "${t[@]}" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
    fi
}

# ---- workloads: each function runs one engine ----------------------------------------------
# TSV / ldb load, durable at the end: nokv load fsyncs and flushes before it exits 0; ldb load
# does not sync, so its wall time includes `sync` (fsync) of every file in the DB and the dir.
load_nokv() { # load_nokv random|sorted
    local dir=$WORK/nk_load_$1 a b
    rm -rf "$dir"
    a=$(now); timed_rss "$WORK/rss" "$NOKV" --workdir "$dir" --compression "$COMPRESSION" load "$D/kv_$1.tsv"; b=$(now)
    rec "load_$1" nokv "$(per_sec "$RECORDS" "$(secs "$a" "$b")")" rec/s
    rec "load_${1}_rss" nokv "$(cat "$WORK/rss")" KiB
}
load_ldb() {
    local dir=$WORK/rdb_load_$1 a b
    rm -rf "$dir"
    a=$(now)
    timed_rss "$WORK/rss" ldb --db="$dir" --create_if_missing --compression_type="$LDB_CODEC" load <"$D/kv_$1.ldb"
    sync "$dir"/* "$dir"
    b=$(now)
    rec "load_$1" rocksdb "$(per_sec "$RECORDS" "$(secs "$a" "$b")")" rec/s
    rec "load_${1}_rss" rocksdb "$(cat "$WORK/rss")" KiB
}
ingest_ldb() { # write_extern_sst + ingest_extern_sst of the sorted file
    local dir=$WORK/rdb_ingest a b
    rm -rf "$dir" "$dir.sst"
    a=$(now)
    ldb --db="$dir" --create_if_missing --compression_type="$LDB_CODEC" write_extern_sst "$dir.sst" <"$D/kv_sorted.ldb" >>"$LOG" 2>&1
    ldb --db="$dir" --create_if_missing ingest_extern_sst "$dir.sst" --move_files >>"$LOG" 2>&1
    b=$(now)
    rec ingest_sorted rocksdb "$(per_sec "$RECORDS" "$(secs "$a" "$b")")" rec/s
}
fill_nokv() { # fill_nokv fillrandom|fillseq
    local dir=$WORK/nk_$1 o=$WORK/nb.out
    rm -rf "$dir"
    "$NB" "$1" "$RECORDS" "$dir" >"$o" 2>>"$LOG"
    rec "$1" nokv "$(nb_result "$o" "$1")" ops/s
}
fill_rdb() {
    local dir=$WORK/rdb_$1 o=$WORK/db_bench.out
    rm -rf "$dir"
    db_bench --db="$dir" "${C[@]}" --benchmarks="$1" >"$o" 2>&1
    cat "$o" >>"$LOG"
    rec "$1" rocksdb "$(db_bench_ops "$o" "$1")" ops/s
}
read_nokv() { # on the fillseq workdir: readrandom then readseq
    local o=$WORK/nb.out
    "$NB" read "$RECORDS" "$WORK/nk_fillseq" >"$o" 2>>"$LOG"
    rec readrandom nokv "$(nb_result "$o" readrandom)" ops/s
    rec readseq nokv "$(nb_result "$o" readseq)" ops/s
}
read_rdb() {
    local o=$WORK/db_bench.out
    db_bench --db="$WORK/rdb_fillseq" "${C[@]}" --use_existing_db=1 --benchmarks=readrandom,readseq >"$o" 2>&1
    cat "$o" >>"$LOG"
    rec readrandom rocksdb "$(db_bench_ops "$o" readrandom)" ops/s
    rec readseq rocksdb "$(db_bench_ops "$o" readseq)" ops/s
}
get_nokv() { rec get_process nokv "$(median_wall "$GET_RUNS" 3 "$NOKV --workdir $WORK/nk_load_random get $KEY")" s; }
# ldb reads the ingested DB (all data in one SST): an `ldb load`ed DB keeps its last memtable
# in the WAL, and every `ldb get` on it replays that WAL (seconds); that case is timed once
# as an info row.
get_ldb() {
    rec get_process rocksdb "$(median_wall "$GET_RUNS" 3 "ldb --db=$WORK/rdb_ingest get $KEY")" s
    rec get_process_loaded_db rocksdb "$(median_wall 1 0 "ldb --db=$WORK/rdb_load_random get $KEY")" s
}
scan_nokv() { rec scan_process nokv "$(median_wall "$SCAN_RUNS" 1 "$NOKV --workdir $WORK/nk_load_random scan")" s; }
scan_ldb() { rec scan_process rocksdb "$(median_wall "$SCAN_RUNS" 1 "ldb --db=$WORK/rdb_ingest scan")" s; }
# Both start with no dirty page cache (`sync` first): an fsync behind hundreds of MB of
# unwritten data from the earlier workloads waits for them too.
sync_nokv() {
    local o=$WORK/nb.out t
    for t in 1 4; do
        rm -rf "$WORK/nk_sync"
        sync
        "$NB" syncfill "$SYNC_PUTS" "$WORK/nk_sync" "$t" >"$o" 2>>"$LOG"
        rec "syncput_t$t" nokv "$(nb_result "$o" "syncfill_t$t")" ops/s
    done
}
sync_rdb() {
    local o=$WORK/db_bench.out t
    for t in 1 4; do
        rm -rf "$WORK/rdb_sync"
        sync
        db_bench --db="$WORK/rdb_sync" --num="$((SYNC_PUTS / t))" --key_size=16 --value_size=100 \
            --compression_type="$COMPRESSION" --threads="$t" --sync=1 --benchmarks=fillrandom >"$o" 2>&1
        cat "$o" >>"$LOG"
        rec "syncput_t$t" rocksdb "$(db_bench_ops "$o" fillrandom)" ops/s
    done
}
reopen_nokv() { # one memtable's worth of WAL (about 57 MiB at 500K records): replay, then flush
    local o=$WORK/nb.out
    rm -rf "$WORK/nk_reopen"
    "$NB" reopen "$((RECORDS / 2))" "$WORK/nk_reopen" >"$o" 2>>"$LOG"
    rec reopen_replay nokv "$(nb_result "$o" reopen)" s
    rec flush_build nokv "$(nb_result "$o" flush)" MB/s
}

# ---- the path-like data set ------------------------------------------------------------------
# Load (random order, durable at the end), sorted load vs external-SST ingest, the workdir's size
# after a full compaction, `get KEY` and a full `scan` as processes on the compacted workdirs,
# and `nokv get` on a PATH_SUBSET-record workdir of the same keys.
paths_nokv() {
    local dir=$WORK/nk_paths a b
    rm -rf "$dir" "$dir"_sorted "$dir"_subset
    a=$(now); timed_rss "$WORK/rss" "$NOKV" --workdir "$dir" --compression "$COMPRESSION" load "$D/paths_random.tsv"; b=$(now)
    rec paths_load_random nokv "$(per_sec "$PATH_RECORDS" "$(secs "$a" "$b")")" rec/s
    rec paths_load_random_rss nokv "$(cat "$WORK/rss")" KiB
    a=$(now); "$NOKV" --workdir "$dir"_sorted --compression "$COMPRESSION" load "$D/paths_sorted.tsv" >>"$LOG" 2>&1; b=$(now)
    rec paths_load_sorted nokv "$(per_sec "$PATH_RECORDS" "$(secs "$a" "$b")")" rec/s
    rm -rf "$dir"_sorted
    "$NOKV" --workdir "$dir" --compression "$COMPRESSION" compact >>"$LOG" 2>&1
    rec paths_size nokv "$(du -sb "$dir" | cut -f1)" B
    rec paths_get_process nokv "$(median_wall "$GET_RUNS" 3 "$NOKV --workdir $dir get $PKEY")" s
    rec paths_scan_process nokv "$(median_wall "$SCAN_RUNS" 1 "$NOKV --workdir $dir scan")" s
    "$NOKV" --workdir "$dir"_subset --compression "$COMPRESSION" load "$D/paths_subset_random.tsv" >>"$LOG" 2>&1
    "$NOKV" --workdir "$dir"_subset --compression "$COMPRESSION" compact >>"$LOG" 2>&1
    rec paths_get_process_subset nokv "$(median_wall "$GET_RUNS" 3 "$NOKV --workdir ${dir}_subset get $PKEY")" s
    rm -rf "$dir"_subset
}
paths_ldb() {
    local dir=$WORK/rdb_paths a b
    rm -rf "$dir" "$dir"_ingest "$dir".sst
    a=$(now)
    timed_rss "$WORK/rss" ldb --db="$dir" --create_if_missing --compression_type="$LDB_CODEC" load <"$D/paths_random.ldb"
    sync "$dir"/* "$dir"
    b=$(now)
    rec paths_load_random rocksdb "$(per_sec "$PATH_RECORDS" "$(secs "$a" "$b")")" rec/s
    rec paths_load_random_rss rocksdb "$(cat "$WORK/rss")" KiB
    a=$(now)
    ldb --db="$dir"_ingest --create_if_missing --compression_type="$LDB_CODEC" write_extern_sst "$dir.sst" <"$D/paths_sorted.ldb" >>"$LOG" 2>&1
    ldb --db="$dir"_ingest --create_if_missing ingest_extern_sst "$dir.sst" --move_files >>"$LOG" 2>&1
    b=$(now)
    rec paths_ingest_sorted rocksdb "$(per_sec "$PATH_RECORDS" "$(secs "$a" "$b")")" rec/s
    rm -rf "$dir"_ingest "$dir".sst
    ldb --db="$dir" --compression_type="$LDB_CODEC" compact >>"$LOG" 2>&1
    rec paths_size rocksdb "$(du -sb "$dir" | cut -f1)" B
    rec paths_get_process rocksdb "$(median_wall "$GET_RUNS" 3 "ldb --db=$dir get $PKEY")" s
    rec paths_scan_process rocksdb "$(median_wall "$SCAN_RUNS" 1 "ldb --db=$dir scan")" s
}

pair() { # pair NOKV_FN RDB_FN: the order alternates by round
    if [ $((ROUND % 2)) = 1 ]; then $1; $2; else $2; $1; fi
}

say "records=$RECORDS path_records=$PATH_RECORDS compression=$COMPRESSION rounds=$ROUNDS sync_puts=$SYNC_PUTS get_runs=$GET_RUNS work=$WORK"
for ROUND in $(seq "$ROUNDS"); do
    say "round $ROUND/$ROUNDS (load average $(cut -d' ' -f1 /proc/loadavg))"
    if has_set paths; then
        pair paths_nokv paths_ldb
        rm -rf "$WORK"/nk_paths "$WORK"/rdb_paths
    fi
    has_set synthetic || continue
    pair "load_nokv random" "load_ldb random"
    pair "load_nokv sorted" "load_ldb sorted"
    ingest_ldb
    pair "fill_nokv fillrandom" "fill_rdb fillrandom"
    pair "fill_nokv fillseq" "fill_rdb fillseq"
    pair read_nokv read_rdb
    pair get_nokv get_ldb
    pair scan_nokv scan_ldb
    pair sync_nokv sync_rdb
    reopen_nokv
    rm -rf "$WORK"/nk_fill* "$WORK"/rdb_fill* "$WORK"/nk_sync "$WORK"/rdb_sync "$WORK"/nk_reopen
done

python3 "$ROOT/benches/compare/summarize.py" "$RAW" "$OUT/results.md" \
    "records=$RECORDS path_records=$PATH_RECORDS (subset $PATH_SUBSET) compression=$COMPRESSION rounds=$ROUNDS sync_puts=$SYNC_PUTS get_runs=$GET_RUNS; $(nproc) CPUs; rocksdb-tools $(dpkg-query -W -f='${Version}' rocksdb-tools 2>/dev/null || echo "?")"
rm -rf "$WORK"
say "wrote $OUT/results.md and $RAW"
