//! db_bench-style driver of the nokv engine API, used by `benches/compare/run.sh` to put nokv
//! side by side with RocksDB's `db_bench` (SPEC section 6). Only the crate and std are used.
//!
//! ```text
//! cargo run --release --example nokv_bench -- gen N OUTDIR        # kv_{random,sorted}.{tsv,ldb}
//! cargo run --release --example nokv_bench -- fillseq N DIR [BATCH]
//! cargo run --release --example nokv_bench -- fillrandom N DIR [BATCH]
//! cargo run --release --example nokv_bench -- read N DIR          # readrandom, then readseq
//! cargo run --release --example nokv_bench -- syncfill N DIR THREADS
//! cargo run --release --example nokv_bench -- reopen N DIR        # flush MB/s, WAL replay time
//! ```
//!
//! Keys are 16 bytes shaped like db_bench's (`--key_size=16`): the record number as 8
//! big-endian bytes, padded with `'0'`. Values are 100 bytes. `fillrandom` draws keys with
//! replacement, as db_bench does (about 63% distinct for N draws). Writes have the WAL on and
//! no sync (db_bench's defaults) unless the workload says otherwise. Each workload prints one
//! line `RESULT <name> <ops/s>` (or another unit named in the line) on stdout; the fill
//! figures exclude the final flush, as db_bench's do.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use nokv::{Db, Options, ScanOptions, WriteBatch};

const KEY_LEN: usize = 16;
const VALUE_LEN: usize = 100;

/// xorshift64*: deterministic and fast; quality is plenty for key choice and value bytes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// db_bench's key shape for `--key_size=16`.
fn bench_key(i: u64) -> [u8; KEY_LEN] {
    let mut key = [b'0'; KEY_LEN];
    key[..8].copy_from_slice(&i.to_be_bytes());
    key
}

fn fill_value(rng: &mut Rng, out: &mut [u8; VALUE_LEN]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in out.chunks_mut(8) {
        let mut bits = rng.next();
        for byte in chunk {
            *byte = ALPHABET[(bits & 63) as usize];
            bits >>= 6;
        }
    }
}

fn arg<T: std::str::FromStr>(args: &[String], at: usize, what: &str) -> T {
    args.get(at)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| die(&format!("missing or bad argument {at}: {what}")))
}

fn die(msg: &str) -> ! {
    eprintln!("nokv_bench: {msg}");
    std::process::exit(2)
}

fn ok<T>(r: nokv::Result<T>) -> T {
    r.unwrap_or_else(|e| die(&e.to_string()))
}

fn io<T>(r: std::io::Result<T>) -> T {
    r.unwrap_or_else(|e| die(&e.to_string()))
}

/// Default options without the stats publisher; the table codec from `NOKV_COMPRESSION`
/// (`lz4`, `zstd`, `none`; default lz4), so the harness runs nokv and RocksDB with one codec.
fn quiet_options() -> Options {
    let compression = std::env::var("NOKV_COMPRESSION")
        .ok()
        .and_then(|name| name.parse().ok())
        .unwrap_or_default();
    Options {
        stats_interval: None,
        compression,
        ..Options::default()
    }
}

/// The data files for the load workloads: the same 16-byte keys (`key%013d`) and 100-byte
/// base64-alphabet values, in a random permutation and in key order, as `key<TAB>value`
/// (nokv) and `key ==> value` (`ldb load`).
fn gen(n: u64, out: &Path) {
    io(std::fs::create_dir_all(out));
    let mut rng = Rng::new(20_261_123);
    let mut values = vec![[0u8; VALUE_LEN]; n as usize];
    for v in &mut values {
        fill_value(&mut rng, v);
    }
    let mut order: Vec<u64> = (0..n).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let sorted: Vec<u64> = (0..n).collect();
    for (name, keys) in [("random", &order), ("sorted", &sorted)] {
        let mut tsv = BufWriter::with_capacity(
            1 << 20,
            io(File::create(out.join(format!("kv_{name}.tsv")))),
        );
        let mut ldb = BufWriter::with_capacity(
            1 << 20,
            io(File::create(out.join(format!("kv_{name}.ldb")))),
        );
        for &i in keys.iter() {
            let key = format!("key{i:013}");
            let value = &values[i as usize];
            io(tsv.write_all(key.as_bytes()));
            io(tsv.write_all(b"\t"));
            io(tsv.write_all(value));
            io(tsv.write_all(b"\n"));
            io(ldb.write_all(key.as_bytes()));
            io(ldb.write_all(b" ==> "));
            io(ldb.write_all(value));
            io(ldb.write_all(b"\n"));
        }
        io(tsv.flush());
        io(ldb.flush());
    }
}

/// fillseq / fillrandom: N puts, one per write unless `batch > 1`.
fn fill(n: u64, dir: &Path, random: bool, batch: usize) {
    let db = ok(Db::open(dir, quiet_options()));
    let mut rng = Rng::new(301);
    let mut value = [0u8; VALUE_LEN];
    let mut wb = WriteBatch::new();
    let start = Instant::now();
    for i in 0..n {
        let k = if random { rng.below(n) } else { i };
        fill_value(&mut rng, &mut value);
        if batch <= 1 {
            ok(db.put(&bench_key(k), &value));
        } else {
            ok(wb.put(&bench_key(k), &value));
            if wb.len() >= batch {
                ok(db.write(&mut wb));
                wb.clear();
            }
        }
    }
    if !wb.is_empty() {
        ok(db.write(&mut wb));
    }
    let secs = start.elapsed().as_secs_f64();
    let name = if random { "fillrandom" } else { "fillseq" };
    println!(
        "RESULT {name} {:.0} ops/s ({n} puts in {secs:.3} s)",
        n as f64 / secs
    );
    let start = Instant::now();
    ok(db.close());
    eprintln!("close: {:.3} s", start.elapsed().as_secs_f64());
}

/// readrandom (N gets of uniformly drawn keys in `[0, N)`), then readseq (one full scan).
fn read(n: u64, dir: &Path) {
    let db = ok(Db::open(dir, quiet_options()));
    let mut rng = Rng::new(4242);
    let mut found = 0u64;
    let start = Instant::now();
    for _ in 0..n {
        if ok(db.get(&bench_key(rng.below(n)))).is_some() {
            found += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "RESULT readrandom {:.0} ops/s ({found} of {n} found in {secs:.3} s)",
        n as f64 / secs
    );
    let start = Instant::now();
    let mut entries = 0u64;
    let mut bytes = 0usize;
    for entry in ok(db.scan(&ScanOptions::default())) {
        let (k, v) = ok(entry);
        bytes += k.len() + v.len();
        entries += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "RESULT readseq {:.0} ops/s ({entries} entries, {bytes} bytes in {secs:.3} s)",
        entries as f64 / secs
    );
    ok(db.close());
}

/// Synced single puts (`sync_writes: true`) from `threads` writers, N puts in all.
fn syncfill(n: u64, dir: &Path, threads: u64) {
    let db = ok(Db::open(
        dir,
        Options {
            sync_writes: true,
            ..quiet_options()
        },
    ));
    let per = n / threads;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let db = &db;
            s.spawn(move || {
                let mut rng = Rng::new(77 + t);
                let mut value = [0u8; VALUE_LEN];
                for _ in 0..per {
                    fill_value(&mut rng, &mut value);
                    ok(db.put(&bench_key(rng.below(n)), &value));
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let total = per * threads;
    println!(
        "RESULT syncfill_t{threads} {:.0} ops/s ({total} synced puts in {secs:.3} s)",
        total as f64 / secs
    );
    ok(db.close());
}

/// Fills one memtable's worth of WAL (N records, unflushed), closes, and times the reopen
/// (WAL replay); then times `flush()` of the replayed memtable (SST build + install).
fn reopen(n: u64, dir: &Path) {
    {
        let db = ok(Db::open(dir, quiet_options()));
        let mut rng = Rng::new(9);
        let mut value = [0u8; VALUE_LEN];
        let mut wb = WriteBatch::new();
        for i in 0..n {
            fill_value(&mut rng, &mut value);
            ok(wb.put(
                &bench_key(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % n),
                &value,
            ));
            if wb.len() >= 1000 {
                ok(db.write(&mut wb));
                wb.clear();
            }
        }
        if !wb.is_empty() {
            ok(db.write(&mut wb));
        }
        ok(db.close());
    }
    let wal_bytes: u64 = io(std::fs::read_dir(dir.join("wal")))
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let tables_before = io(std::fs::read_dir(dir))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sst"))
        .count();
    let start = Instant::now();
    let db = ok(Db::open(dir, quiet_options()));
    let open_secs = start.elapsed().as_secs_f64();
    println!(
        "RESULT reopen {open_secs:.3} s ({:.1} MiB of WAL replayed, {tables_before} tables before)",
        wal_bytes as f64 / (1 << 20) as f64
    );
    let data_bytes = n * (KEY_LEN + VALUE_LEN) as u64;
    let start = Instant::now();
    let summary = ok(db.flush());
    let secs = start.elapsed().as_secs_f64();
    println!(
        "RESULT flush {:.0} MB/s ({:.1} MB of records, {} table(s), {secs:.3} s)",
        data_bytes as f64 / secs / 1e6,
        data_bytes as f64 / 1e6,
        summary.tables.len()
    );
    ok(db.close());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cmd = args.get(1).map(String::as_str).unwrap_or("");
    match cmd {
        "gen" => gen(
            arg(&args, 2, "N"),
            Path::new(&arg::<String>(&args, 3, "OUTDIR")),
        ),
        "fillseq" | "fillrandom" => fill(
            arg(&args, 2, "N"),
            Path::new(&arg::<String>(&args, 3, "DIR")),
            cmd == "fillrandom",
            args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1),
        ),
        "read" => read(
            arg(&args, 2, "N"),
            Path::new(&arg::<String>(&args, 3, "DIR")),
        ),
        "syncfill" => syncfill(
            arg(&args, 2, "N"),
            Path::new(&arg::<String>(&args, 3, "DIR")),
            arg(&args, 4, "THREADS"),
        ),
        "reopen" => reopen(
            arg(&args, 2, "N"),
            Path::new(&arg::<String>(&args, 3, "DIR")),
        ),
        _ => die(
            "usage: nokv_bench gen|fillseq|fillrandom|read|syncfill|reopen ARGS (see the source)",
        ),
    }
}
