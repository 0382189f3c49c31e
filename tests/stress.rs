//! A `db_stress`-style randomized test (after RocksDB's): several threads run random puts,
//! deletes, range deletes, gets, forward and reverse scans, sorted ingests (finished, empty
//! and abandoned), flushes and compactions against one engine, plus read-only opens and
//! checkpoints of its live workdir (what `nokv get`/`scan`/`checkpoint` do from another
//! process), with the stats publisher at 1 ms. The main thread ends each epoch, in the
//! middle of the operations, with a clean close, a kill -9
//! ([`MemVfs::process_crash_clone`]), a power loss ([`MemVfs::crash_clone`]; half of them
//! also tear the unsynced writeback, [`MemVfs::torn_crash_clone`]; in fast mode a refusal
//! to open is allowed as documented, and salvaged, [`fast_refusal`]), or a failed
//! WAL or manifest fsync ([`FaultVfs`], over fsyncs slowed to 0.3 ms so writers queue behind
//! the failing one). Every epoch draws its own options (background or inline flushes, synced
//! writes or not, strict or fast, tiny memtables and tables so that flushes, compactions and
//! manifest rewrites happen all the time). Three in ten crashed workdirs are salvaged before
//! their reopen ([`salvage_check`]).
//!
//! The oracle: each thread owns the keys of its prefix (`t<thread>/`), so every key has one
//! writer and a history of versions (present or absent; a value names its version). A write's
//! version is *started* before the call and *acknowledged* after it returns `Ok`. A read of
//! any key must return a version between the one acknowledged before the read began and the
//! last one started when it ended (exact for the owner), present or absent as that version
//! was, and never older than what this reader saw before (reads never go backwards; a read-only
//! open may lead the live engine, see [`Reader`]). After a
//! crash, every key must hold a version between what was guaranteed durable (acknowledged, or
//! with power loss and unsynced writes, acknowledged before a completed flush) and what had
//! started; operations in flight at the crash may or may not be there. After a failed fsync,
//! no write that began after the failure may be acknowledged, and the segment is never
//! fsynced again.
//!
//! Before every reopen `verify` runs, and it must agree with open: it finds no damage (only
//! what open repairs) and open succeeds, or the run fails. After a clean close it must find
//! nothing at all. `close` must return within a deadline (a deadlock fails the run).
//!
//! Bounded for CI (`cargo test --test stress`, 45 s of epochs in a debug build); longer
//! or reproducible with `NOKV_STRESS_SECS=600 NOKV_STRESS_SEED=1234 cargo test --release
//! --test stress -- --nocapture`. The seed is printed first and repeated in every failure
//! (thread timing still varies between runs; the seed fixes every random choice).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nokv::options::Durability;
use nokv::verify::{verify, VerifyOptions, VerifyReport};
use nokv::vfs::{FaultAction, FaultRule, FaultVfs, MemVfs, OpKind, OpSelector, PageWriteback, Vfs};
use nokv::{Compression, Db, Options, ScanOptions};

mod common;
use common::GateVfs;

const DIR: &str = "/db";

type Entry = (Vec<u8>, Vec<u8>);
const THREADS: usize = 4;
const KEYS_PER_THREAD: usize = 96;
/// How long `close` (or any join) may take before the run calls it a deadlock.
const DEADLINE: Duration = Duration::from_secs(60);

/// splitmix64: small, seedable, good enough to drive choices.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn key(thread: usize, n: usize) -> Vec<u8> {
    format!("t{thread}/k{n:04}").into_bytes()
}

fn parse_key(key: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(key).ok()?;
    let (t, n) = text.strip_prefix('t')?.split_once("/k")?;
    Some((t.parse().ok()?, n.parse().ok()?))
}

fn value(thread: usize, n: usize, version: u64, pad: usize) -> Vec<u8> {
    let mut v = format!("t{thread}/k{n:04}#v{version}:").into_bytes();
    v.extend(std::iter::repeat_n(b'a' + (version % 26) as u8, pad));
    v
}

/// The version a value names, checked against the key it was read under.
fn version_of(key: &[u8], value: &[u8]) -> Result<u64, String> {
    let text = String::from_utf8_lossy(value);
    let (head, _) = text
        .split_once(':')
        .ok_or_else(|| format!("malformed value {text:?}"))?;
    let (k, v) = head
        .split_once("#v")
        .ok_or_else(|| format!("malformed value {text:?}"))?;
    if k.as_bytes() != key {
        return Err(format!(
            "value of {k} read under key {}",
            String::from_utf8_lossy(key)
        ));
    }
    v.parse()
        .map_err(|_| format!("malformed version in {text:?}"))
}

/// One key's history. Version `i` is the i-th write to the key in this run (0: absent at
/// the start); `Some(present)` for a write that happened or may have, `None` for one known
/// never to have happened (an abandoned ingest, a version lost at a crash).
#[derive(Debug, Clone)]
struct History {
    versions: Vec<Option<bool>>,
    /// The newest version acknowledged (or re-established at a reopen).
    acked: u64,
    /// The newest version guaranteed to survive a power loss with unsynced writes.
    floor: u64,
}

impl History {
    fn new() -> History {
        History {
            versions: vec![Some(false)],
            acked: 0,
            floor: 0,
        }
    }

    fn started(&self) -> u64 {
        self.versions.len() as u64 - 1
    }

    /// The newest version at or below `v` that happened.
    fn happened_at_or_below(&self, v: u64) -> u64 {
        (0..=v)
            .rev()
            .find(|&i| self.versions[i as usize].is_some())
            .unwrap_or(0)
    }

    /// Which version `got` (`Some(version)` or absent) can be, given it was read with
    /// versions `lo..=hi` possible; the newest candidate, or an error.
    fn explain(&self, got: Option<u64>, lo: u64, hi: u64) -> Result<u64, String> {
        let lo = self.happened_at_or_below(lo);
        let hi = hi.min(self.started());
        match got {
            Some(v) if v < lo => Err(format!("version {v} is older than {lo}, already settled")),
            Some(v) if v > hi => Err(format!("version {v} was never written (newest {hi})")),
            Some(v) if self.versions[v as usize] != Some(true) => {
                Err(format!("version {v} is not a put"))
            }
            Some(v) => Ok(v),
            None => (lo..=hi)
                .rev()
                .find(|&i| self.versions[i as usize] == Some(false))
                .ok_or_else(|| format!("absent, but every version in {lo}..={hi} is a put")),
        }
    }
}

/// The expected state: a history per key, and what the run has seen go wrong.
struct Oracle {
    keys: Vec<Vec<Mutex<History>>>,
    /// When the first operation failed (an injected fsync failure): no write that starts
    /// after this may be acknowledged.
    first_failure: Mutex<Option<Instant>>,
    /// Whether failures are expected in this epoch.
    faults: AtomicBool,
    ops: AtomicU64,
    failed_ops: AtomicU64,
    /// Read-only opens and checkpoints that read the live workdir, and those that gave up
    /// with [`nokv::Error::WorkdirChanging`].
    read_only_opens: AtomicU64,
    checkpoints: AtomicU64,
    gave_up: AtomicU64,
    /// Crashed workdirs salvaged (and the copy checked) before their reopen.
    salvages: AtomicU64,
    seed: u64,
}

impl Oracle {
    fn history(&self, thread: usize, n: usize) -> std::sync::MutexGuard<'_, History> {
        self.keys[thread][n].lock().unwrap()
    }

    /// A new version of a key, started now.
    fn start(&self, thread: usize, n: usize, present: bool) -> u64 {
        let mut h = self.history(thread, n);
        h.versions.push(Some(present));
        h.started()
    }

    fn ack(&self, thread: usize, n: usize, version: u64) {
        let mut h = self.history(thread, n);
        h.acked = h.acked.max(version);
    }

    fn never_happened(&self, thread: usize, n: usize, version: u64) {
        self.history(thread, n).versions[version as usize] = None;
    }

    fn bounds(&self, thread: usize, n: usize) -> (u64, u64) {
        let h = self.history(thread, n);
        (h.acked, h.started())
    }

    fn fail(&self, ctx: &str, msg: String) -> ! {
        panic!("stress seed {}: {ctx}: {msg}", self.seed)
    }

    /// An operation returned an error: fine once an injected fault fired, else a failure.
    fn error(&self, ctx: &str, err: &nokv::Error) {
        self.failed_ops.fetch_add(1, Ordering::Relaxed);
        if !self.faults.load(Ordering::SeqCst) {
            self.fail(ctx, format!("unexpected error: {err}"));
        }
        self.first_failure
            .lock()
            .unwrap()
            .get_or_insert_with(Instant::now);
    }

    /// A write that began at `started` was acknowledged.
    fn acknowledged(&self, ctx: &str, started: Instant) {
        if let Some(failed) = *self.first_failure.lock().unwrap() {
            if failed < started {
                self.fail(
                    ctx,
                    "a write that began after a failure was acknowledged".into(),
                );
            }
        }
    }
}

/// How a read reached the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// The live engine's own readers.
    Live,
    /// A read-only open beside it (what `nokv get`/`scan` do).
    ReadOnly,
}

/// Per-thread memory of what it has read, so reads never go backwards.
///
/// The two ways in keep separate floors, because the disk leads the writer's in-memory view:
/// a write's WAL record or a commit's manifest edit is written before the writer's readers
/// see it, so a read-only open may see an operation still in flight a moment before the live
/// engine does (SPEC 2.3a). What must hold:
/// - a live read is never older than an earlier live read;
/// - a read-only read is never older than an earlier read of either kind (what the live
///   engine showed was on disk before it showed it).
struct Reader {
    seen_live: BTreeMap<(usize, usize), u64>,
    seen_read_only: BTreeMap<(usize, usize), u64>,
}

impl Reader {
    fn new() -> Reader {
        Reader {
            seen_live: BTreeMap::new(),
            seen_read_only: BTreeMap::new(),
        }
    }

    fn check(
        &mut self,
        oracle: &Oracle,
        ctx: &str,
        via: Via,
        key: (usize, usize),
        got: Option<&[u8]>,
        lo: u64,
    ) {
        let raw = key_bytes(key);
        let version = match got.map(|v| version_of(&raw, v)).transpose() {
            Ok(v) => v,
            Err(e) => oracle.fail(ctx, e),
        };
        let hi = oracle.bounds(key.0, key.1).1;
        let seen = |map: &BTreeMap<(usize, usize), u64>| map.get(&key).copied().unwrap_or(0);
        let floor = match via {
            Via::Live => lo.max(seen(&self.seen_live)),
            Via::ReadOnly => lo
                .max(seen(&self.seen_live))
                .max(seen(&self.seen_read_only)),
        };
        let h = oracle.history(key.0, key.1);
        match h.explain(version, floor, hi) {
            Ok(v) => {
                drop(h);
                // An absent read only proves the key was absent at some version in range.
                if version.is_some() {
                    let map = match via {
                        Via::Live => &mut self.seen_live,
                        Via::ReadOnly => &mut self.seen_read_only,
                    };
                    map.insert(key, v);
                }
            }
            Err(e) => oracle.fail(
                ctx,
                format!(
                    "{}: {e} (read {:?} via {via:?})",
                    String::from_utf8_lossy(&raw),
                    version
                ),
            ),
        }
    }
}

fn key_bytes(key: (usize, usize)) -> Vec<u8> {
    self::key(key.0, key.1)
}

fn epoch_options(rng: &mut Rng, strict: bool) -> Options {
    let background_flush = rng.chance(50);
    let l0_compaction_trigger = 2 + rng.below(3) as usize;
    Options {
        memtable_size: 4096 + rng.below(12 << 10),
        max_immutables: 1 + rng.below(3) as usize,
        durability: if strict {
            Durability::Strict
        } else {
            Durability::Fast
        },
        sync_writes: rng.chance(40),
        block_size: 256 + rng.below(768) as usize,
        block_cache_bytes: if rng.chance(50) { 64 << 10 } else { 0 },
        bloom_bits_per_key: 10,
        manifest_rewrite_threshold: 4096 + rng.below(16 << 10),
        stats_interval: Some(Duration::from_millis(1)),
        background_flush,
        auto_compaction: rng.chance(90),
        l0_compaction_trigger,
        l0_slowdown_trigger: l0_compaction_trigger + 4,
        l0_stop_trigger: l0_compaction_trigger + 8,
        level1_target_bytes: 16 << 10,
        level_size_multiplier: 2 + rng.below(3),
        target_file_size: 2048 + rng.below(6 << 10),
        // Small, so the stress run rotates EVENTS too.
        events_max_bytes: 2048 + rng.below(8 << 10),
        compression: match rng.below(3) {
            0 => Compression::None,
            1 => Compression::Lz4,
            _ => Compression::Zstd,
        },
        zstd_level: 1 + rng.below(3) as i32,
        block_restart_interval: 1 + rng.below(16) as usize,
    }
}

/// Runs `f` on its own thread; a deadlock (no return within [`DEADLINE`]) fails the run.
fn within<T: Send + 'static>(
    oracle: &Oracle,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(DEADLINE)
        .unwrap_or_else(|_| oracle.fail(what, format!("no return within {DEADLINE:?}: a deadlock")))
}

/// One worker: random operations until `stop`.
fn worker(db: &Db, disk: &MemVfs, oracle: &Oracle, thread: usize, mut rng: Rng, stop: &AtomicBool) {
    let mut reader = Reader::new();
    let ctx = format!("thread {thread}");
    let ctx = ctx.as_str();
    while !stop.load(Ordering::Relaxed) {
        oracle.ops.fetch_add(1, Ordering::Relaxed);
        let roll = rng.below(1000);
        let n = rng.below(KEYS_PER_THREAD as u64) as usize;
        match roll {
            // put
            0..=349 => {
                let v = oracle.start(thread, n, true);
                let pad = rng.below(160) as usize;
                let began = Instant::now();
                match db.put(&key(thread, n), &value(thread, n, v, pad)) {
                    Ok(()) => {
                        oracle.acknowledged(ctx, began);
                        oracle.ack(thread, n, v);
                    }
                    Err(e) => oracle.error(ctx, &e),
                }
            }
            // delete
            350..=429 => {
                let v = oracle.start(thread, n, false);
                let began = Instant::now();
                match db.delete(&key(thread, n)) {
                    Ok(()) => {
                        oracle.acknowledged(ctx, began);
                        oracle.ack(thread, n, v);
                    }
                    Err(e) => oracle.error(ctx, &e),
                }
            }
            // delete_range over own keys
            430..=459 => {
                let end = (n + 1 + rng.below(12) as usize).min(KEYS_PER_THREAD);
                let versions: Vec<(usize, u64)> = (n..end)
                    .map(|i| (i, oracle.start(thread, i, false)))
                    .collect();
                let began = Instant::now();
                let end_key = if end == KEYS_PER_THREAD {
                    format!("t{thread}/l").into_bytes()
                } else {
                    key(thread, end)
                };
                match db.delete_range(&key(thread, n), &end_key) {
                    Ok(()) => {
                        oracle.acknowledged(ctx, began);
                        for (i, v) in versions {
                            oracle.ack(thread, i, v);
                        }
                    }
                    Err(e) => oracle.error(ctx, &e),
                }
            }
            // get, own key or another thread's
            460..=659 => {
                let owner = if rng.chance(50) {
                    thread
                } else {
                    rng.below(THREADS as u64) as usize
                };
                let (lo, _) = oracle.bounds(owner, n);
                match db.get(&key(owner, n)) {
                    Ok(got) => reader.check(oracle, ctx, Via::Live, (owner, n), got.as_deref(), lo),
                    Err(e) => oracle.fail(ctx, format!("get failed: {e}")),
                }
            }
            // scan a prefix, forward or reverse, with random bounds
            660..=729 => {
                let range = ScanRange::pick(&mut rng, oracle);
                range.check(
                    &mut reader,
                    oracle,
                    ctx,
                    Via::Live,
                    db.scan(&range.options()),
                );
            }
            // sorted ingest of own keys: finished, empty, or abandoned midway
            730..=759 => ingest(db, oracle, thread, &mut rng, ctx),
            // flush
            760..=789 => {
                let floors: Vec<u64> = (0..KEYS_PER_THREAD)
                    .map(|i| oracle.bounds(thread, i).0)
                    .collect();
                match db.flush() {
                    Ok(_) => {
                        for (i, floor) in floors.into_iter().enumerate() {
                            let mut h = oracle.history(thread, i);
                            h.floor = h.floor.max(floor);
                        }
                    }
                    Err(e) => oracle.error(ctx, &e),
                }
            }
            // compact everything
            790..=794 => {
                if let Err(e) = db.compact() {
                    oracle.error(ctx, &e);
                }
            }
            // stats (the publisher runs too)
            795..=799 => {
                let _ = db.stats();
            }
            // a read-only open beside the live writer (what `nokv get`/`scan` do): no LOCK,
            // the WAL replayed in memory
            800..=814 => {
                let points = PointReads::pick(&mut rng, oracle);
                let range = ScanRange::pick(&mut rng, oracle);
                let opened = nokv::ReadOnlyDb::open_with_vfs(
                    Arc::new(disk.clone()),
                    Path::new(DIR),
                    Options::default(),
                );
                let ro = match opened {
                    Ok(ro) => ro,
                    // A writer that keeps changing the workdir under every attempt: the
                    // bounded retries give up, as documented.
                    Err(nokv::Error::WorkdirChanging { .. }) => {
                        oracle.gave_up.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Err(e) => oracle.fail(ctx, format!("read-only open failed: {e}")),
                };
                oracle.read_only_opens.fetch_add(1, Ordering::Relaxed);
                points.check(&mut reader, oracle, ctx, |k| ro.get(k));
                range.check(
                    &mut reader,
                    oracle,
                    ctx,
                    Via::ReadOnly,
                    ro.scan(&range.options()),
                );
            }
            // a checkpoint beside the live writer, opened as a workdir of its own: it holds
            // what a read-only open would have seen, and writes to it stay out of the source
            815..=819 => checkpoint(db, disk, oracle, thread, &mut rng, &mut reader, ctx),
            // the tree's shape: L1 and deeper sorted and never overlapping
            _ => {
                let problems = db.version().check_invariants();
                if !problems.is_empty() {
                    oracle.fail(ctx, format!("level invariants: {problems:?}"));
                }
            }
        }
    }
}

/// Point reads of random keys of every thread, with what each key had to be at least when
/// it was picked; checked as reads through a read-only open (or a copy of one).
struct PointReads {
    keys: Vec<(usize, usize)>,
    lows: Vec<u64>,
}

impl PointReads {
    fn pick(rng: &mut Rng, oracle: &Oracle) -> PointReads {
        let keys: Vec<(usize, usize)> = (0..8)
            .map(|_| {
                (
                    rng.below(THREADS as u64) as usize,
                    rng.below(KEYS_PER_THREAD as u64) as usize,
                )
            })
            .collect();
        let lows = keys.iter().map(|&(t, i)| oracle.bounds(t, i).0).collect();
        PointReads { keys, lows }
    }

    fn check(
        &self,
        reader: &mut Reader,
        oracle: &Oracle,
        ctx: &str,
        get: impl Fn(&[u8]) -> nokv::Result<Option<Vec<u8>>>,
    ) {
        for (&key, &lo) in self.keys.iter().zip(&self.lows) {
            match get(&key_bytes(key)) {
                Ok(got) => reader.check(oracle, ctx, Via::ReadOnly, key, got.as_deref(), lo),
                Err(e) => oracle.fail(ctx, format!("read-only get failed: {e}")),
            }
        }
    }
}

/// A random scan over one thread's keys, with what each key had to be at least when it
/// was picked.
struct ScanRange {
    owner: usize,
    start: usize,
    end: usize,
    reverse: bool,
    lows: Vec<u64>,
}

impl ScanRange {
    fn pick(rng: &mut Rng, oracle: &Oracle) -> ScanRange {
        let owner = rng.below(THREADS as u64) as usize;
        let start = rng.below(KEYS_PER_THREAD as u64) as usize;
        let end = (start + 1 + rng.below(40) as usize).min(KEYS_PER_THREAD);
        let reverse = rng.chance(50);
        let lows = (start..end).map(|i| oracle.bounds(owner, i).0).collect();
        ScanRange {
            owner,
            start,
            end,
            reverse,
            lows,
        }
    }

    fn options(&self) -> ScanOptions {
        ScanOptions {
            start: Some(key(self.owner, self.start)),
            end: Some(key(self.owner, self.end)),
            reverse: self.reverse,
            ..ScanOptions::default()
        }
    }

    /// Checks a scan's order, bounds, and every key of the range against the oracle.
    fn check(
        &self,
        reader: &mut Reader,
        oracle: &Oracle,
        ctx: &str,
        via: Via,
        scan: nokv::Result<nokv::Scan>,
    ) {
        let scanned: nokv::Result<Vec<Entry>> = scan.and_then(|s| s.collect());
        let scanned =
            scanned.unwrap_or_else(|e| oracle.fail(ctx, format!("scan via {via:?} failed: {e}")));
        let mut order: Vec<&Vec<u8>> = scanned.iter().map(|(k, _)| k).collect();
        if self.reverse {
            order.reverse();
        }
        if !order.windows(2).all(|w| w[0] < w[1]) {
            oracle.fail(
                ctx,
                format!("scan via {via:?} (reverse: {}) out of order", self.reverse),
            );
        }
        let found: BTreeMap<usize, &Vec<u8>> = scanned
            .iter()
            .map(|(k, v)| match parse_key(k) {
                Some((t, i)) if t == self.owner && (self.start..self.end).contains(&i) => (i, v),
                _ => oracle.fail(
                    ctx,
                    format!(
                        "scan via {via:?} returned {} outside its bounds",
                        String::from_utf8_lossy(k)
                    ),
                ),
            })
            .collect();
        for (i, &lo) in (self.start..self.end).zip(&self.lows) {
            reader.check(
                oracle,
                ctx,
                via,
                (self.owner, i),
                found.get(&i).map(|v| v.as_slice()),
                lo,
            );
        }
    }
}

/// `nokv checkpoint` beside the live writer: the copy opens read-write on its own, holds at
/// least what a read-only open would have, and a write to it never shows in the source.
fn checkpoint(
    db: &Db,
    disk: &MemVfs,
    oracle: &Oracle,
    thread: usize,
    rng: &mut Rng,
    reader: &mut Reader,
    ctx: &str,
) {
    static TAKEN: AtomicU64 = AtomicU64::new(0);
    let dest = format!(
        "/checkpoints/t{thread}-{}",
        TAKEN.fetch_add(1, Ordering::Relaxed)
    );
    let dest = Path::new(&dest);
    let points = PointReads::pick(rng, oracle);
    let range = ScanRange::pick(rng, oracle);
    let vfs: Arc<dyn Vfs> = Arc::new(disk.clone());
    match nokv::checkpoint_with_vfs(Arc::clone(&vfs), Path::new(DIR), dest) {
        Ok(_) => {
            oracle.checkpoints.fetch_add(1, Ordering::Relaxed);
        }
        Err(nokv::Error::WorkdirChanging { .. }) => {
            oracle.gave_up.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Err(e) => oracle.fail(ctx, format!("checkpoint failed: {e}")),
    }
    let copy = Db::open_with_vfs(Arc::clone(&vfs), dest, Options::default())
        .unwrap_or_else(|e| oracle.fail(ctx, format!("the checkpoint does not open: {e}")));
    points.check(reader, oracle, ctx, |k| copy.get(k));
    range.check(
        reader,
        oracle,
        ctx,
        Via::ReadOnly,
        copy.scan(&range.options()),
    );
    // A key outside every thread's range, written to the copy only.
    let marker = format!("x/checkpoint-of-t{thread}").into_bytes();
    copy.put(&marker, b"copy only")
        .and_then(|()| copy.flush().map(|_| ()))
        .unwrap_or_else(|e| oracle.fail(ctx, format!("write to the checkpoint failed: {e}")));
    copy.close()
        .unwrap_or_else(|e| oracle.fail(ctx, format!("close of the checkpoint failed: {e}")));
    match db.get(&marker) {
        Ok(None) => {}
        Ok(Some(_)) => oracle.fail(ctx, "a write to the checkpoint shows in the source".into()),
        Err(e) => oracle.error(ctx, &e),
    }
    remove_tree(disk, dest);
}

/// Removes every file under `dir` (the directories stay: the VFS cannot remove them).
fn remove_tree(disk: &MemVfs, dir: &Path) {
    for name in disk.list_dir(dir).unwrap_or_default() {
        let path = dir.join(&name);
        if disk.list_dir(&path).is_ok_and(|inner| !inner.is_empty()) {
            remove_tree(disk, &path);
        }
        let _ = disk.remove_file(&path);
    }
}

fn ingest(db: &Db, oracle: &Oracle, thread: usize, rng: &mut Rng, ctx: &str) {
    let mode = rng.below(10);
    let count = if mode == 0 {
        0
    } else {
        1 + rng.below(30) as usize
    };
    let mut picked: Vec<usize> = (0..count)
        .map(|_| rng.below(KEYS_PER_THREAD as u64) as usize)
        .collect();
    picked.sort_unstable();
    picked.dedup();
    let mut session = match db.ingest() {
        Ok(s) => s,
        Err(e) => return oracle.error(ctx, &e),
    };
    let abandon_at = (mode == 1).then(|| rng.below(picked.len() as u64 + 1) as usize);
    let mut versions = Vec::new();
    for (at, &n) in picked.iter().enumerate() {
        if abandon_at == Some(at) {
            break;
        }
        let v = oracle.start(thread, n, true);
        versions.push((n, v));
        if let Err(e) = session.add(
            &key(thread, n),
            &value(thread, n, v, rng.below(100) as usize),
        ) {
            oracle.error(ctx, &e);
            drop(session);
            for (n, v) in versions {
                oracle.never_happened(thread, n, v);
            }
            return;
        }
    }
    if abandon_at.is_some() {
        drop(session);
        for (n, v) in versions {
            oracle.never_happened(thread, n, v);
        }
        return;
    }
    let began = Instant::now();
    match session.finish() {
        Ok(_) => {
            oracle.acknowledged(ctx, began);
            for (n, v) in versions {
                oracle.ack(thread, n, v);
            }
        }
        Err(e) => oracle.error(ctx, &e),
    }
}

/// Kinds of finding that open repairs by itself; anything else is damage.
const REPAIRED_BY_OPEN: [&str; 4] = ["torn_tail", "orphan", "temp_file", "obsolete_wal"];

fn damage(report: &VerifyReport) -> Vec<String> {
    report
        .problems
        .iter()
        .filter(|p| !REPAIRED_BY_OPEN.contains(&p.kind.as_str()))
        .map(|p| format!("{} {}: {}", p.kind, p.file, p.detail))
        .collect()
}

/// How an epoch ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Close,
    Kill,
    PowerLoss,
    FsyncFailure,
}

#[derive(Default, Debug)]
struct Figures {
    lineages: u64,
    epochs: u64,
    closes: u64,
    kills: u64,
    power_losses: u64,
    /// Power losses that also tore the unsynced writeback.
    torn_power_losses: u64,
    /// Power losses in a fast-mode epoch, and how many of them left a workdir that refuses
    /// to open (documented; salvage checked).
    fast_power_losses: u64,
    fast_refusals: u64,
    fsync_failures: u64,
    faults_fired: u64,
}

/// `nokv salvage` of the workdir as a crash left it, before the reopen: it changes nothing
/// in the source, and the copy it writes opens as a workdir holding, for every key, a version
/// the oracle allows (at least what must have survived). Lost records are allowed only in the
/// WAL (a power loss's unsynced writes), never in a table.
fn salvage_check(
    oracle: &Oracle,
    mem: &MemVfs,
    lows: &[Vec<u64>],
    tables_may_be_lost: bool,
    ctx: &str,
) {
    static TAKEN: AtomicU64 = AtomicU64::new(0);
    let source = Path::new(DIR);
    let dest = format!("/salvaged/{}", TAKEN.fetch_add(1, Ordering::Relaxed));
    let dest = Path::new(&dest);
    let files = |vfs: &MemVfs| -> Vec<(std::path::PathBuf, Option<Vec<u8>>)> {
        vfs.file_names()
            .into_iter()
            .filter(|p| p.starts_with(source))
            .map(|p| (p.clone(), vfs.read_file(&p)))
            .collect()
    };
    let before = files(mem);
    let report = nokv::salvage::salvage(Arc::new(mem.clone()), source, dest)
        .unwrap_or_else(|e| oracle.fail(ctx, format!("salvage could not run: {e}")));
    if files(mem) != before {
        oracle.fail(ctx, "salvage changed the workdir it read".into());
    }
    if let Some(lost) = report.lost.first().filter(|_| !tables_may_be_lost) {
        oracle.fail(ctx, format!("salvage lost records in a table: {lost:?}"));
    }
    let copy = Db::open_with_vfs(Arc::new(mem.clone()), dest, Options::default())
        .unwrap_or_else(|e| oracle.fail(ctx, format!("the salvaged copy does not open: {e}")));
    for (thread, keys) in oracle.keys.iter().enumerate() {
        for (n, slot) in keys.iter().enumerate() {
            let k = key(thread, n);
            let got = copy
                .get(&k)
                .unwrap_or_else(|e| oracle.fail(ctx, format!("get from the salvaged copy: {e}")));
            let version = got
                .as_deref()
                .map(|v| version_of(&k, v))
                .transpose()
                .unwrap_or_else(|e| oracle.fail(ctx, e));
            let h = slot.lock().unwrap();
            if let Err(e) = h.explain(version, lows[thread][n], h.started()) {
                oracle.fail(
                    ctx,
                    format!("{} in the salvaged copy: {e}", String::from_utf8_lossy(&k)),
                );
            }
        }
    }
    copy.close()
        .unwrap_or_else(|e| oracle.fail(ctx, format!("close of the salvaged copy: {e}")));
    oracle.salvages.fetch_add(1, Ordering::Relaxed);
    remove_tree(mem, dest);
}

/// After a power loss in a fast-mode epoch: `None` when the workdir opens (the caller then
/// reopens and checks it as usual). `Some(error)` when it refuses, which fast mode documents
/// for a table whose bytes were lost mid-run: the refusal must name a table, verify must agree
/// (damage), and salvage must get back every key at least at what was made durable before.
fn fast_refusal(
    oracle: &Oracle,
    mem: &MemVfs,
    opts: &Options,
    lows: &[Vec<u64>],
    ctx: &str,
) -> Option<String> {
    let err = match Db::open_with_vfs(
        Arc::new(mem.process_crash_clone()),
        Path::new(DIR),
        opts.clone(),
    ) {
        Ok(db) => {
            close_within(oracle, db);
            return None;
        }
        Err(err) => err.to_string(),
    };
    if !err.contains(".sst") {
        oracle.fail(
            ctx,
            format!("fast-mode power loss: open refused, naming no table: {err}"),
        );
    }
    let report = verify(mem, Path::new(DIR), &VerifyOptions::default())
        .unwrap_or_else(|e| oracle.fail(ctx, format!("verify could not run: {e}")));
    if damage(&report).is_empty() {
        oracle.fail(
            ctx,
            format!("open refused ({err}) but verify found no damage"),
        );
    }
    salvage_check(
        oracle,
        mem,
        lows,
        true,
        &format!("{ctx}: salvage after a fast refusal"),
    );
    Some(err)
}

/// Reopens the workdir in `mem` after an epoch: verify first (it must agree with open),
/// then open, then check every key against its bounds (`lo` per key: what must have
/// survived) and settle the oracle on what is there.
fn reopen(
    oracle: &Oracle,
    mem: &MemVfs,
    opts: &Options,
    lows: &[Vec<u64>],
    clean: bool,
    ctx: &str,
) -> Db {
    let report = verify(mem, Path::new(DIR), &VerifyOptions::default())
        .unwrap_or_else(|e| oracle.fail(ctx, format!("verify could not run: {e}")));
    let damaged = damage(&report);
    if clean && !report.ok {
        oracle.fail(
            ctx,
            format!("verify after a clean close: {:?}", report.problems),
        );
    }
    let db = match Db::open_with_vfs(Arc::new(mem.clone()), Path::new(DIR), opts.clone()) {
        Ok(db) => db,
        Err(e) => oracle.fail(
            ctx,
            format!("open refused ({e}); verify found damage: {damaged:?}"),
        ),
    };
    if !damaged.is_empty() {
        oracle.fail(
            ctx,
            format!("open succeeded but verify found damage: {damaged:?}"),
        );
    }
    let all: Result<BTreeMap<Vec<u8>, Vec<u8>>, nokv::Error> =
        db.scan(&ScanOptions::default()).and_then(|s| s.collect());
    let all = all.unwrap_or_else(|e| oracle.fail(ctx, format!("scan after reopen: {e}")));
    for (thread, keys) in oracle.keys.iter().enumerate() {
        for (n, slot) in keys.iter().enumerate() {
            let k = key(thread, n);
            let got = db
                .get(&k)
                .unwrap_or_else(|e| oracle.fail(ctx, format!("get after reopen: {e}")));
            if got.as_ref() != all.get(&k) {
                oracle.fail(
                    ctx,
                    format!("get and scan disagree on {}", String::from_utf8_lossy(&k)),
                );
            }
            let version = got
                .as_deref()
                .map(|v| version_of(&k, v))
                .transpose()
                .unwrap_or_else(|e| oracle.fail(ctx, e));
            let mut h = slot.lock().unwrap();
            let hi = h.started();
            let v = h.explain(version, lows[thread][n], hi).unwrap_or_else(|e| {
                oracle.fail(
                    ctx,
                    format!(
                        "{} after reopen: {e} (must have survived: {})",
                        String::from_utf8_lossy(&k),
                        lows[thread][n]
                    ),
                )
            });
            // Settle: what is there now is the truth; versions after it are lost.
            for later in v + 1..=hi {
                h.versions[later as usize] = None;
            }
            h.acked = v;
            h.floor = v;
        }
    }
    if all.len() > THREADS * KEYS_PER_THREAD {
        oracle.fail(ctx, format!("{} keys after reopen", all.len()));
    }
    db
}

#[test]
fn stress_random_operations_with_crashes_and_reopens() {
    let seed = std::env::var("NOKV_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let secs: u64 = std::env::var("NOKV_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(45);
    println!("stress seed {seed} ({secs} s; rerun with NOKV_STRESS_SEED={seed})");
    let oracle = Arc::new(Oracle {
        keys: (0..THREADS)
            .map(|_| {
                (0..KEYS_PER_THREAD)
                    .map(|_| Mutex::new(History::new()))
                    .collect()
            })
            .collect(),
        first_failure: Mutex::new(None),
        faults: AtomicBool::new(false),
        ops: AtomicU64::new(0),
        failed_ops: AtomicU64::new(0),
        read_only_opens: AtomicU64::new(0),
        checkpoints: AtomicU64::new(0),
        gave_up: AtomicU64::new(0),
        salvages: AtomicU64::new(0),
        seed,
    });
    let mut rng = Rng(seed);
    let mut mem = MemVfs::new();
    let mut figures = Figures::default();
    let started = Instant::now();
    let budget = Duration::from_secs(secs);
    let mut opts;
    let mut db;
    // A lineage is one workdir, from empty, over several epochs, strict throughout or mixing
    // fast and strict epochs. A fast epoch fsyncs its tables only when a flush completes and
    // at close, so a power loss in one may take what it wrote since (documented), and may
    // leave a workdir that refuses to open: then salvage must still get back everything
    // made durable before, and the lineage ends.
    let mut lineage_epochs = 0;
    let mut mixed_modes = false;
    while started.elapsed() < budget || figures.epochs < 4 {
        if lineage_epochs == 0 {
            figures.lineages += 1;
            lineage_epochs = 8 + rng.below(16);
            mixed_modes = rng.chance(40);
            mem = MemVfs::new();
            for keys in &oracle.keys {
                for h in keys {
                    *h.lock().unwrap() = History::new();
                }
            }
        }
        lineage_epochs -= 1;
        figures.epochs += 1;
        let ctx = format!("epoch {} (lineage {})", figures.epochs, figures.lineages);
        let strict = !mixed_modes || rng.chance(60);
        opts = epoch_options(&mut rng, strict);
        let ending = match rng.below(100) {
            0..=29 => Ending::Close,
            30..=59 => Ending::Kill,
            60..=84 if !mixed_modes || !strict => Ending::PowerLoss,
            60..=84 => Ending::Kill,
            _ => Ending::FsyncFailure,
        };
        // In a failed-fsync epoch every fsync takes a little time, so that concurrent
        // writers queue behind the one whose fsync fails (group commit under test).
        let slow = GateVfs {
            inner: mem.clone(),
            sync_delay: if ending == Ending::FsyncFailure {
                Duration::from_micros(300)
            } else {
                Duration::ZERO
            },
            ..GateVfs::new()
        };
        let fault = FaultVfs::new(Arc::new(slow));
        let vfs: Arc<dyn Vfs> = Arc::new(fault.clone());
        oracle.faults.store(false, Ordering::SeqCst);
        *oracle.first_failure.lock().unwrap() = None;
        if ending == Ending::FsyncFailure && rng.chance(70) {
            opts.sync_writes = true;
        }
        db = Db::open_with_vfs(Arc::clone(&vfs), Path::new(DIR), opts.clone())
            .unwrap_or_else(|e| oracle.fail(&ctx, format!("open: {e}")));
        // Which file's fsync fails: mostly the WAL (group commit, rotation), else the
        // manifest (a flush's, a compaction's or an ingest's commit).
        let (nth_sync, fsync_target) = if rng.chance(70) {
            (rng.below(30), ".wal")
        } else {
            (rng.below(6), "MANIFEST-")
        };
        if ending == Ending::FsyncFailure {
            oracle.faults.store(true, Ordering::SeqCst);
            fault.clear_ops();
            fault.add_rule(
                FaultRule::new(
                    OpSelector::Kind(OpKind::Sync),
                    nth_sync,
                    FaultAction::FailOnce(5),
                )
                .on_path(fsync_target),
            );
        }
        let db = Arc::new(db);
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let db = Arc::clone(&db);
                let oracle = Arc::clone(&oracle);
                let stop = Arc::clone(&stop);
                let rng = Rng(seed ^ (figures.epochs << 8) ^ t as u64);
                let disk = mem.clone();
                std::thread::spawn(move || worker(&db, &disk, &oracle, t, rng, &stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20 + rng.below(180)));
        // What must survive, captured before the crash point; what may, after it.
        let lows: Vec<Vec<u64>> = oracle
            .keys
            .iter()
            .map(|keys| {
                keys.iter()
                    .map(|h| {
                        let h = h.lock().unwrap();
                        match ending {
                            // Fast mode: a flush deletes WAL segments before its unsynced
                            // table is on disk, so even synced writes may go.
                            Ending::PowerLoss
                                if !opts.sync_writes || opts.durability == Durability::Fast =>
                            {
                                h.floor
                            }
                            _ => h.acked,
                        }
                    })
                    .collect()
            })
            .collect();
        let crashed = match ending {
            Ending::Kill => Some(mem.process_crash_clone()),
            // Half the power losses also tear the unsynced writeback: each unsynced page is
            // written, lost or zeroed, in any order (LazyFS's torn-seq and torn-op faults).
            Ending::PowerLoss if rng.chance(50) => {
                figures.torn_power_losses += 1;
                let page = if rng.chance(50) { 512 } else { 4096 };
                let salt = rng.next();
                Some(mem.torn_crash_clone(page, move |path, index| {
                    let mut h = Rng(salt ^ (index as u64).wrapping_mul(0x9e37_79b9));
                    for b in path.as_os_str().as_encoded_bytes() {
                        h.0 ^= u64::from(*b);
                        h.next();
                    }
                    match h.below(3) {
                        0 => PageWriteback::Written,
                        1 => PageWriteback::Lost,
                        _ => PageWriteback::Zeroed,
                    }
                }))
            }
            Ending::PowerLoss => Some(mem.crash_clone()),
            _ => None,
        };
        stop.store(true, Ordering::SeqCst);
        for (t, w) in workers.into_iter().enumerate() {
            if let Err(panic) = within(&oracle, &format!("{ctx}: join worker {t}"), move || {
                w.join()
            }) {
                std::panic::resume_unwind(panic);
            }
        }
        let db =
            Arc::try_unwrap(db).unwrap_or_else(|_| oracle.fail(&ctx, "db still shared".into()));
        let closed = within(&oracle, &format!("{ctx}: close ({ending:?})"), move || {
            db.close()
        });
        match ending {
            Ending::Close => {
                figures.closes += 1;
                if let Err(e) = closed {
                    oracle.fail(&ctx, format!("clean close failed: {e}"));
                }
                // Everything acknowledged was made durable by close.
                let lows: Vec<Vec<u64>> = oracle
                    .keys
                    .iter()
                    .map(|keys| keys.iter().map(|h| h.lock().unwrap().acked).collect())
                    .collect();
                close_within(
                    &oracle,
                    reopen(
                        &oracle,
                        &mem,
                        &opts,
                        &lows,
                        true,
                        &format!("{ctx}: after close"),
                    ),
                );
            }
            Ending::Kill | Ending::PowerLoss => {
                if ending == Ending::Kill {
                    figures.kills += 1;
                } else {
                    figures.power_losses += 1;
                }
                mem = crashed.unwrap();
                let fast = opts.durability == Durability::Fast;
                if ending == Ending::PowerLoss && fast {
                    figures.fast_power_losses += 1;
                    if fast_refusal(&oracle, &mem, &opts, &lows, &ctx).is_some() {
                        // Documented: the lineage cannot go on from this workdir.
                        figures.fast_refusals += 1;
                        lineage_epochs = 0;
                        continue;
                    }
                }
                if rng.chance(30) {
                    salvage_check(
                        &oracle,
                        &mem,
                        &lows,
                        false,
                        &format!("{ctx}: salvage after {ending:?}"),
                    );
                }
                close_within(
                    &oracle,
                    reopen(
                        &oracle,
                        &mem,
                        &opts,
                        &lows,
                        false,
                        &format!("{ctx}: after {ending:?}"),
                    ),
                );
            }
            Ending::FsyncFailure => {
                figures.fsync_failures += 1;
                if fault.fired() {
                    figures.faults_fired += 1;
                    check_no_fsync_after_failure(&oracle, &fault, fsync_target, nth_sync, &ctx);
                    if closed.is_ok() {
                        oracle.fail(
                            &ctx,
                            format!("close returned Ok after a failed fsync of {fsync_target}"),
                        );
                    }
                }
                fault.clear_rules();
                // The process exits; what it wrote is in the kernel (like a kill -9). In a
                // mixed lineage that is made explicit (everything written is durable), so a
                // later fast epoch's power loss only loses what that epoch wrote.
                if mixed_modes {
                    mem = mem.process_crash_clone();
                }
                close_within(
                    &oracle,
                    reopen(
                        &oracle,
                        &mem,
                        &opts,
                        &lows,
                        false,
                        &format!("{ctx}: after a failed fsync"),
                    ),
                );
            }
        }
    }
    let elapsed = started.elapsed();
    println!(
        "stress seed {seed}: {} threads, {} operations ({} failed as expected) in {:.1} s over \
         {} epochs in {} workdirs: {} clean closes, {} kill -9, {} power losses ({} torn; {} in fast mode, {} of them refused to open and were salvaged), {} fsync-failure epochs ({} \
         fired); {} read-only opens and {} checkpoints beside the writer ({} gave up: workdir changing); {} crashed workdirs salvaged",
        THREADS,
        oracle.ops.load(Ordering::Relaxed),
        oracle.failed_ops.load(Ordering::Relaxed),
        elapsed.as_secs_f64(),
        figures.epochs,
        figures.lineages,
        figures.closes,
        figures.kills,
        figures.power_losses,
        figures.torn_power_losses,
        figures.fast_power_losses,
        figures.fast_refusals,
        figures.fsync_failures,
        figures.faults_fired,
        oracle.read_only_opens.load(Ordering::Relaxed),
        oracle.checkpoints.load(Ordering::Relaxed),
        oracle.gave_up.load(Ordering::Relaxed),
        oracle.salvages.load(Ordering::Relaxed),
    );
}

/// After the injected failure of the `nth` fsync of a file whose path contains `target`, that
/// file is never fsynced again.
fn check_no_fsync_after_failure(
    oracle: &Oracle,
    fault: &FaultVfs,
    target: &str,
    nth: u64,
    ctx: &str,
) {
    let ops = fault.ops();
    let Some((index, failed)) = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.kind == OpKind::Sync && op.path.to_string_lossy().contains(target))
        .nth(nth as usize)
    else {
        return;
    };
    let again = ops[index + 1..]
        .iter()
        .filter(|op| op.kind == OpKind::Sync && op.path == failed.path)
        .count();
    if again > 0 {
        oracle.fail(
            ctx,
            format!(
                "{} fsynced {again} more times after its fsync failed",
                failed.path.display()
            ),
        );
    }
}

/// Closes a reopened engine within [`DEADLINE`] (never in a `Drop` that could hang the run).
fn close_within(oracle: &Oracle, db: Db) {
    if let Err(e) = within(oracle, "close after reopen", move || db.close()) {
        oracle.fail("close after reopen", e.to_string());
    }
}
