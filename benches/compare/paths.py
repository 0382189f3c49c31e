#!/usr/bin/env python3
"""Path-like data set for benches/compare/run.sh: real file paths of this machine (`find /usr`),
repeated under synthetic roots until N records, keys 20-150 bytes sharing long prefixes, values
the file's base name (at most 16 bytes).

usage: paths.py N SUBSET OUTDIR
Writes OUTDIR/paths_{random,sorted}.{tsv,ldb} (N records), OUTDIR/paths_subset_random.tsv (the
first SUBSET records of the random order), and OUTDIR/paths_key (a key present in both).
"""
import os
import random
import subprocess
import sys

n, subset, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
os.makedirs(out, exist_ok=True)
listing = subprocess.run(["find", "/usr", "-xdev"], capture_output=True, text=True).stdout
# Printable, escape-free paths only: the TSV and ldb formats then need no escaping.
base = sorted({p.lstrip("/") for p in listing.split("\n")
               if p and p.isprintable() and "\\" not in p and "\t" not in p and " ==> " not in p})
roots = []
keys = []
i = 0
while len(keys) < n:
    root = f"srv/volume{i // 8:03d}/host{i % 8:02d}/"
    i += 1
    keys.extend(k for k in (root + p for p in base) if 20 <= len(k) <= 150)
    if i > 100000:
        sys.exit("not enough paths on this machine")
keys = keys[:n]
rng = random.Random(20261201)
order = keys[:]
rng.shuffle(order)


def value(k):
    return k.rsplit("/", 1)[-1][:16] or "dir"


def write(name, ks):
    with open(f"{out}/paths_{name}.tsv", "w") as tsv, open(f"{out}/paths_{name}.ldb", "w") as ldb:
        for k in ks:
            v = value(k)
            tsv.write(f"{k}\t{v}\n")
            ldb.write(f"{k} ==> {v}\n")


write("random", order)
write("sorted", sorted(keys))
with open(f"{out}/paths_subset_random.tsv", "w") as tsv:
    for k in order[:subset]:
        tsv.write(f"{k}\t{value(k)}\n")
with open(f"{out}/paths_key", "w") as f:
    f.write(order[subset // 2] + "\n")
avg = sum(map(len, keys)) / len(keys)
print(f"{len(keys)} path records, keys {min(map(len, keys))}-{max(map(len, keys))} bytes "
      f"(mean {avg:.0f}), from {len(base)} paths under {i} roots", file=sys.stderr)
