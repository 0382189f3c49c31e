#!/usr/bin/env python3
"""Summarize benches/compare/run.sh's raw.tsv: medians, paired ratios, SPEC 6 bars.

usage: summarize.py RAW.tsv RESULTS.md "header note"
Prints the table on stdout and writes it, with every raw per-round figure, to RESULTS.md.
A ratio is the median over rounds of the per-round nokv / RocksDB ratio (for times and
memory, lower is better and the ratio is still nokv / RocksDB).
"""
import statistics
import sys
from collections import defaultdict

raw_path, out_path, note = sys.argv[1], sys.argv[2], sys.argv[3]
vals = defaultdict(dict)  # (workload, engine) -> {round: value}
units = {}
for line in open(raw_path).read().splitlines()[1:]:
    rnd, workload, engine, value, unit = line.split("\t")
    try:
        vals[(workload, engine)][int(rnd)] = float(value)
    except ValueError:
        continue
    units[workload] = unit


def med(workload, engine):
    v = list(vals.get((workload, engine), {}).values())
    return statistics.median(v) if v else None


def ratio(nk, nk_engine, rd, rd_engine):
    a, b = vals.get((nk, nk_engine), {}), vals.get((rd, rd_engine), {})
    r = [a[k] / b[k] for k in a if k in b and b[k]]
    return statistics.median(r) if r else None


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s"
    if unit == "KiB":
        return f"{v / 1024:.0f} MiB"
    if unit == "B":
        return f"{v / 2**20:.1f} MiB"
    if unit == "MB/s":
        return f"{v:.0f} MB/s"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M/s"
    if v >= 1e4:
        return f"{v / 1e3:.0f}K/s"
    return f"{v:.0f}/s"


# (label, nokv workload, rocksdb workload, RocksDB label, bar text, test(ratio, nokv median))
FJALL_SYNC = 6447 / 4778  # fjall / RocksDB synced puts in the reference run (SPEC 6)
rows = [
    ("load, random-order TSV, durable at end", "load_random", "load_random", "`ldb load` (+fsync)",
     ">= 3x", lambda r, v: r >= 3),
    ("load, sorted TSV", "load_sorted", "load_sorted", "`ldb load` (+fsync)", "(info)", None),
    ("load, sorted TSV vs external-SST ingest", "load_sorted", "ingest_sorted",
     "`write_extern_sst`+`ingest_extern_sst`", ">= 1x", lambda r, v: r >= 1),
    ("fillrandom (engine API, WAL on, no sync)", "fillrandom", "fillrandom", "`db_bench fillrandom`",
     ">= 2x", lambda r, v: r >= 2),
    ("fillseq (engine API, WAL on, no sync)", "fillseq", "fillseq", "`db_bench fillseq`", "(info)", None),
    ("random get, 1M keys in page cache", "readrandom", "readrandom", "`db_bench readrandom`",
     ">= 1.5x", lambda r, v: r >= 1.5),
    ("full scan (engine API)", "readseq", "readseq", "`db_bench readseq`", ">= 1x", lambda r, v: r >= 1),
    ("`nokv get KEY` process, wall (lower is better)", "get_process", "get_process", "`ldb get` (ingested DB)",
     "<= 0.5x", lambda r, v: r <= 0.5),
    ("`nokv get KEY` vs `ldb get` on the `ldb load`ed DB (replays its WAL)", "get_process",
     "get_process_loaded_db", "`ldb get`, 1 run", "(info)", None),
    ("`nokv scan` full, process wall (lower is better)", "scan_process", "scan_process", "`ldb scan` (ingested DB)",
     "(info)", None),
    ("synced single puts, 1 writer", "syncput_t1", "syncput_t1", "`db_bench --sync=1 fillrandom`",
     f">= fjall (~{FJALL_SYNC:.2f}x)", lambda r, v: r >= FJALL_SYNC),
    ("synced puts, 4 writers (group commit)", "syncput_t4", "syncput_t4", "same, `--threads=4`",
     ">= 2x nokv's 1 writer", lambda r, v: (med("syncput_t1", "nokv") or 1e18) * 2 <= v),
    ("peak RSS, random load (lower is better)", "load_random_rss", "load_random_rss", "`ldb load`",
     "<= 1.5x", lambda r, v: r <= 1.5),
    ("peak RSS, sorted load (lower is better)", "load_sorted_rss", "load_sorted_rss", "`ldb load`",
     "<= 1.5x", lambda r, v: r <= 1.5),
    ("flush: SST build + install of one memtable (N/2 records)", "flush_build", None, "-", ">= 300 MB/s",
     lambda r, v: v >= 300),
    ("reopen, replaying the WAL of N/2 records (57 MiB at N=1M)", "reopen_replay", None, "-", "<= 0.5 s", lambda r, v: v <= 0.5),
    ("paths: load, random-order TSV, durable at end", "paths_load_random", "paths_load_random",
     "`ldb load` (+fsync)", ">= 3x", lambda r, v: r >= 3),
    ("paths: load, sorted TSV vs external-SST ingest", "paths_load_sorted", "paths_ingest_sorted",
     "`write_extern_sst`+`ingest_extern_sst`", ">= 1x", lambda r, v: r >= 1),
    ("paths: workdir after a full compaction (lower is better)", "paths_size", "paths_size",
     "`ldb compact`ed DB", "<= 1x", lambda r, v: r <= 1),
    ("paths: `nokv get KEY` process, wall (lower is better)", "paths_get_process", "paths_get_process",
     "`ldb get` (compacted DB)", "<= 0.5x", lambda r, v: r <= 0.5),
    ("paths: `nokv scan` full, process wall (lower is better)", "paths_scan_process", "paths_scan_process",
     "`ldb scan` (compacted DB)", "(info)", None),
    ("paths: peak RSS, random load (lower is better)", "paths_load_random_rss", "paths_load_random_rss",
     "`ldb load`", "<= 1.5x", lambda r, v: r <= 1.5),
]

lines = [
    "| workload | nokv | RocksDB 7.8 | nokv / RocksDB | SPEC bar | met |",
    "|---|---|---|---|---|---|",
]
for label, nk, rd, rd_label, bar, test in rows:
    unit = units.get(nk, "")
    nv = med(nk, "nokv")
    if nv is None:
        continue
    rv = med(rd, "rocksdb") if rd else None
    r = ratio(nk, "nokv", rd, "rocksdb") if rd else None
    if test is None:
        met = "-"
    else:
        met = "met" if test(r if r is not None else 0, nv) else "**not met**"
    rcol = f"{fmt(rv, units.get(rd, unit))} ({rd_label})" if rd else "-"
    lines.append(
        f"| {label} | {fmt(nv, unit)} | {rcol} | {'-' if r is None else f'{r:.2f}x'} | {bar} | {met} |"
    )
# nokv get on the full path workdir vs on the PATH_SUBSET one (same engine, same key).
full, small = vals.get(("paths_get_process", "nokv"), {}), vals.get(("paths_get_process_subset", "nokv"), {})
growth = [full[k] / small[k] for k in full if k in small and small[k]]
if growth:
    g = statistics.median(growth)
    lines.append(
        f"| paths: `nokv get KEY`, full vs subset workdir | {fmt(med('paths_get_process', 'nokv'), 's')} | "
        f"{fmt(med('paths_get_process_subset', 'nokv'), 's')} (nokv, subset) | {g:.2f}x | <= 1.2x | "
        f"{'met' if g <= 1.2 else '**not met**'} |"
    )
table = "\n".join(lines)
print(table)

rounds = sorted({r for d in vals.values() for r in d})
raw = ["| workload | engine | unit | " + " | ".join(f"r{r}" for r in rounds) + " | median |",
       "|---|---|---|" + "---|" * (len(rounds) + 1)]
for (workload, engine), d in sorted(vals.items()):
    cells = " | ".join(f"{d[r]:g}" if r in d else "-" for r in rounds)
    raw.append(f"| {workload} | {engine} | {units[workload]} | {cells} | {med(workload, engine):g} |")

with open(out_path, "w") as f:
    f.write("# nokv vs RocksDB: benches/compare/run.sh\n\n")
    f.write(f"{note}\n\nMedians over rounds; ratio = median of per-round nokv / RocksDB.\n\n")
    f.write(table + "\n\n## Raw per-round figures\n\n" + "\n".join(raw) + "\n")
