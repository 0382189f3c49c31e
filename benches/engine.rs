//! Engine benchmarks (criterion): flush build + install, WAL append with and without
//! `sync_writes`, memtable insert, point gets, and reopen with a full WAL to replay.
//!
//! Run: `cargo bench --bench engine` (one group: `cargo bench --bench engine -- flush`).
//! `NOKV_BENCH_RSS=1 cargo bench --bench engine` reports a 550K-record memtable's RSS instead.
//! Records are 16-byte keys and 100-byte values, as in SPEC section 6.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use nokv::flush::write_table;
use nokv::memtable::{MemValue, Memtable};
use nokv::sst::TableOptions;
use nokv::vfs::RealFs;
use nokv::{Db, Durability, FileNumber, Options, SeqNo, ValueKind, WriteBatch};

const VALUE_LEN: usize = 100;

/// A deterministic, well-spread 16-byte key.
fn key(i: u64) -> [u8; 16] {
    let mixed = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 0x5851_F42D_4C95_7F2D;
    let text = format!("{:016x}", mixed);
    let mut out = [0u8; 16];
    out.copy_from_slice(text.as_bytes());
    out
}

fn value(i: u64) -> Vec<u8> {
    let mut v = vec![b'v'; VALUE_LEN];
    v[..8].copy_from_slice(&i.to_le_bytes());
    v
}

fn filled_memtable(records: u64) -> Memtable {
    let mem = Memtable::new(FileNumber(1));
    for i in 0..records {
        mem.insert(&key(i), SeqNo(i + 1), ValueKind::Put, &value(i));
    }
    mem
}

fn bench_flush(c: &mut Criterion) {
    let records = 200_000u64;
    let mem = filled_memtable(records);
    let data_bytes = records * (16 + VALUE_LEN as u64);
    let mut group = c.benchmark_group("flush");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Bytes(data_bytes));
    for durability in [Durability::Strict, Durability::Fast] {
        group.bench_function(format!("build+install/{}", durability.as_str()), |b| {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut number = 10u64;
            b.iter(|| {
                number += 1;
                let meta = write_table(
                    &RealFs::new(),
                    dir.path(),
                    FileNumber(number),
                    durability,
                    &mem,
                    TableOptions::default(),
                )
                .expect("flush")
                .expect("a table");
                std::fs::remove_file(dir.path().join(format!("{number:06}.sst"))).ok();
                meta.size
            });
        });
    }
    group.finish();
}

fn bench_wal(c: &mut Criterion) {
    let mut group = c.benchmark_group("wal");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(6));
    let batch_records = 100u64;
    group.throughput(Throughput::Bytes(batch_records * (16 + VALUE_LEN as u64)));
    for sync in [false, true] {
        let name = if sync {
            "append-100-record-batch/sync"
        } else {
            "append-100-record-batch/nosync"
        };
        group.bench_function(name, |b| {
            let dir = tempfile::tempdir().expect("tempdir");
            let db = Db::open(
                dir.path(),
                Options {
                    sync_writes: sync,
                    stats_interval: None,
                    ..Options::default()
                },
            )
            .expect("open");
            let mut i = 0u64;
            let mut batch = WriteBatch::new();
            b.iter(|| {
                batch.clear();
                for _ in 0..batch_records {
                    batch.put(&key(i), &value(i)).expect("put");
                    i += 1;
                }
                db.write(&mut batch).expect("write");
            });
            db.close().expect("close");
        });
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("single-put/sync", |b| {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(
            dir.path(),
            Options {
                sync_writes: true,
                stats_interval: None,
                ..Options::default()
            },
        )
        .expect("open");
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            db.put(&key(i), &value(i)).expect("put");
        });
        db.close().expect("close");
    });
    group.finish();
}

fn bench_memtable(c: &mut Criterion) {
    let mut group = c.benchmark_group("memtable");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(6));
    let records = 100_000u64;
    group.throughput(Throughput::Elements(records));
    group.bench_function("insert-100k-random", |b| {
        b.iter_batched(
            || Memtable::new(FileNumber(1)),
            |mem| {
                for i in 0..records {
                    mem.insert(&key(i), SeqNo(i + 1), ValueKind::Put, &value(i));
                }
                mem
            },
            BatchSize::LargeInput,
        );
    });
    // The same without generating keys and values in the timed loop: the memtable alone.
    let keys: Vec<[u8; 16]> = (0..records).map(key).collect();
    let values: Vec<Vec<u8>> = (0..records).map(value).collect();
    group.bench_function("insert-100k-random-pregenerated", |b| {
        b.iter_batched(
            || Memtable::new(FileNumber(1)),
            |mem| {
                for (i, (k, v)) in keys.iter().zip(&values).enumerate() {
                    mem.insert(k, SeqNo(i as u64 + 1), ValueKind::Put, v);
                }
                mem
            },
            BatchSize::LargeInput,
        );
    });
    let mem = filled_memtable(records);
    group.bench_function("get-100k-random-hit", |b| {
        b.iter(|| {
            let mut found = 0usize;
            let mut i = 0u64;
            for _ in 0..records {
                i = (i + 7919) % records;
                found += mem.get(&keys[i as usize]).map_or(0, |v| v.value.len());
            }
            found
        });
    });
    group.bench_function("from_log-100k", |b| {
        b.iter_batched(
            || {
                (0..records)
                    .map(|i| {
                        (
                            keys[i as usize].to_vec(),
                            MemValue {
                                seq: SeqNo(i + 1),
                                kind: ValueKind::Put,
                                value: values[i as usize].clone(),
                            },
                        )
                    })
                    .collect::<Vec<_>>()
            },
            |entries| Memtable::from_log(FileNumber(1), entries),
            BatchSize::LargeInput,
        );
    });
    group.bench_function("for_each-100k", |b| {
        b.iter(|| {
            let mut bytes = 0usize;
            mem.for_each(|k, v| {
                bytes += k.len() + v.value.len();
                Ok::<_, ()>(())
            })
            .expect("visit");
            bytes
        });
    });
    group.finish();
}

/// The resident set size of this process, in KiB, from `/proc/self/status`.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// `NOKV_BENCH_RSS=1 cargo bench --bench engine`: instead of benchmarking, insert 550K
/// 16/100-byte records (about a 64 MiB memtable) into a fresh memtable and report how much
/// the process's RSS grew, against the 116 bytes of key and value per record.
fn report_memtable_rss() {
    let records = 550_000u64;
    let before = rss_kib();
    let mem = Memtable::new(FileNumber(1));
    let mut v = value(0);
    for i in 0..records {
        v[..8].copy_from_slice(&i.to_le_bytes());
        mem.insert(&key(i), SeqNo(i + 1), ValueKind::Put, &v);
    }
    let after = rss_kib();
    let raw = records * (16 + VALUE_LEN as u64);
    let grown = (after - before) * 1024;
    eprintln!(
        "memtable RSS: {records} records, raw {:.1} MiB, RSS {before} KiB -> {after} KiB, \
         grew {:.1} MiB = {:.3}x raw ({:.1} bytes/record), approximate_bytes {:.1} MiB",
        raw as f64 / 1048576.0,
        grown as f64 / 1048576.0,
        grown as f64 / raw as f64,
        grown as f64 / records as f64,
        mem.approximate_bytes() as f64 / 1048576.0,
    );
    assert_eq!(mem.len() as u64, records);
}

fn bench_get(c: &mut Criterion) {
    let records = 200_000u64;
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options {
        memtable_size: 8 << 20,
        stats_interval: None,
        ..Options::default()
    };
    {
        let db = Db::open(dir.path(), opts.clone()).expect("open");
        let mut batch = WriteBatch::new();
        for i in 0..records {
            batch.put(&key(i), &value(i)).expect("put");
            if batch.len() == 1000 {
                db.write(&mut batch).expect("write");
                batch.clear();
            }
        }
        db.write(&mut batch).expect("write");
        db.flush().expect("flush");
        db.close().expect("close");
    }
    let db = Db::open(dir.path(), opts).expect("open");
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    group.bench_function("get-random-hit", |b| {
        b.iter(|| {
            i = (i + 7919) % records;
            db.get(&key(i)).expect("get").expect("present")
        });
    });
    group.throughput(Throughput::Elements(records));
    group.sample_size(10);
    group.bench_function("scan-all", |b| {
        b.iter(|| {
            db.scan(&nokv::ScanOptions::default())
                .expect("scan")
                .count()
        });
    });
    group.finish();
    db.close().expect("close");
}

fn fill_wal(dir: &Path, bytes: u64) {
    let db = Db::open(
        dir,
        Options {
            memtable_size: bytes + (1 << 20),
            stats_interval: None,
            ..Options::default()
        },
    )
    .expect("open");
    let mut batch = WriteBatch::new();
    let per_record = 16 + VALUE_LEN as u64 + 3;
    for i in 0..bytes / per_record {
        batch.put(&key(i), &value(i)).expect("put");
        if batch.len() == 1000 {
            db.write(&mut batch).expect("write");
            batch.clear();
        }
    }
    db.write(&mut batch).expect("write");
    db.close().expect("close");
}

fn bench_reopen(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let wal_bytes = 64u64 << 20;
    fill_wal(dir.path(), wal_bytes - (1 << 20));
    let opts = Options {
        memtable_size: 64 << 20,
        stats_interval: None,
        ..Options::default()
    };
    let mut group = c.benchmark_group("reopen");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Bytes(wal_bytes));
    group.bench_function("replay-64MiB-wal", |b| {
        b.iter(|| {
            let db =
                Db::open_with_vfs(Arc::new(RealFs::new()), dir.path(), opts.clone()).expect("open");
            db.close().expect("close");
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_flush,
    bench_wal,
    bench_memtable,
    bench_get,
    bench_reopen
);
fn main() {
    if std::env::var_os("NOKV_BENCH_RSS").is_some() {
        report_memtable_rss();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
