//! An arena-backed skiplist: the memtable's ordered index, with no heap allocation per entry.
//!
//! Nodes live in large byte chunks (4 MiB `Vec<u8>`s, allocated with their full capacity
//! and never grown past it, so nothing ever moves) and are named by a `u32` address: chunk
//! number in the high 10 bits, byte offset in the low 22. A node is laid out as
//!
//! ```text
//! meta u8 | klen u32 | next[height] u32 | key | seq u64 | vaddr u32 | vlen u32
//! ```
//!
//! little-endian and unaligned (read through byte slices: the crate has no `unsafe`). `meta`
//! packs the kind tag (2 bits), the tower height (4 bits) and whether the value is out of
//! line (1 bit). What a search reads (height, key length, links, key) is contiguous, and the
//! values live in a second arena of their own, so nodes are dense: a search touches about a
//! third of the memory it would if values sat next to their keys.
//!
//! A value of at most [`INLINE_MAX`] bytes is appended to the value arena and `vaddr` is its
//! address there. An overwrite whose value is no longer than the current one writes it in
//! place; a longer one is appended (the old bytes become garbage until the memtable is
//! dropped). A longer value gets an exact-size `Vec` of its own in `big` and `vaddr` is its
//! index; an overwrite frees the old one.
//!
//! The skiplist is only ever touched under the memtable's `RwLock`: readers share it, the one
//! writer has it to itself, so links are plain bytes rather than atomics.

use crate::types::{SeqNo, ValueKind};

/// Chunk size is `1 << CHUNK_BITS`.
const CHUNK_BITS: u32 = 22;
const CHUNK: usize = 1 << CHUNK_BITS;
const OFFSET_MASK: u32 = (1 << CHUNK_BITS) - 1;
/// Addresses have 32 bits: at most this many chunks (4 GiB of nodes and inline values).
const MAX_CHUNKS: usize = 1 << (32 - CHUNK_BITS);
/// Longest value stored inline in the arena; longer ones get their own allocation.
pub(super) const INLINE_MAX: usize = 64 << 10;
/// Tallest tower: with a branching factor of 4, enough for 16M entries at full speed.
const MAX_HEIGHT: usize = 12;

/// No node (end of a level).
const NIL: u32 = u32::MAX;
/// The head of the list (its links are `SkipList::head`). Never a node's address: a node is
/// at least `O_LINKS + 4` bytes long and lies within one 4 MiB slot.
const HEAD: u32 = u32::MAX - 1;

const O_META: usize = 0;
const O_KLEN: usize = 1;
const O_LINKS: usize = 5;
/// After the key: seq, vaddr, vlen.
const TAIL: usize = 16;
const T_SEQ: usize = 0;
const T_VADDR: usize = 8;
const T_VLEN: usize = 12;

const META_KIND: u8 = 0b11;
const META_HEIGHT_SHIFT: u8 = 2;
const META_HEIGHT: u8 = 0b1111;
const META_BIG: u8 = 0b0100_0000;

/// Bytes of bookkeeping per node, not counting its links: charged by the memtable's size
/// accounting along with the average tower.
pub(super) const NODE_HEADER: usize = O_LINKS + TAIL;

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Inserted {
    /// A new key.
    New,
    /// The key's entry was replaced; its old value had this many bytes.
    Replaced(usize),
    /// The stored entry is newer: nothing changed.
    Ignored,
}

/// One entry, borrowed from the list.
#[derive(Debug, Clone, Copy)]
pub(super) struct EntryRef<'a> {
    pub key: &'a [u8],
    pub seq: SeqNo,
    pub kind: ValueKind,
    pub value: &'a [u8],
}

/// Append-only byte chunks addressed by `u32`.
#[derive(Debug, Default)]
struct Arena {
    chunks: Vec<Vec<u8>>,
    /// The chunk appends go to (`None` before the first).
    current: Option<usize>,
}

impl Arena {
    /// Room for `size` bytes at the end of a chunk: the address where they go. The caller
    /// appends exactly `size` bytes to that chunk.
    fn alloc(&mut self, size: usize) -> u32 {
        if let Some(current) = self.current {
            let used = self.chunks[current].len();
            if CHUNK - used >= size {
                return ((current as u32) << CHUNK_BITS) | used as u32;
            }
        }
        let index = self.chunks.len();
        // A node longer than a chunk (a huge key) gets a chunk of its own spanning several
        // address slots; the slots after the first stay empty.
        let slots = size.div_ceil(CHUNK).max(1);
        assert!(
            index + slots <= MAX_CHUNKS,
            "memtable arena exhausted: more than 4 GiB of keys or of values"
        );
        self.chunks.push(Vec::with_capacity(size.max(CHUNK)));
        self.chunks.extend((1..slots).map(|_| Vec::new()));
        if slots == 1 {
            self.current = Some(index);
        }
        (index as u32) << CHUNK_BITS
    }

    /// Copies `bytes` in; returns their address.
    fn push(&mut self, bytes: &[u8]) -> u32 {
        let addr = self.alloc(bytes.len());
        self.chunk_mut(addr).extend_from_slice(bytes);
        addr
    }

    fn chunk(&self, addr: u32) -> (&[u8], usize) {
        let (chunk, offset) = split(addr);
        (&self.chunks[chunk], offset)
    }

    fn chunk_mut(&mut self, addr: u32) -> &mut Vec<u8> {
        &mut self.chunks[(addr >> CHUNK_BITS) as usize]
    }
}

#[derive(Debug)]
pub(super) struct SkipList {
    nodes: Arena,
    values: Arena,
    /// Out-of-line values (see module docs); a freed slot holds an empty `Vec`.
    big: Vec<Vec<u8>>,
    head: [u32; MAX_HEIGHT],
    /// Levels in use (at least 1).
    height: usize,
    len: usize,
    rng: u64,
}

fn read_u32(buf: &[u8], at: usize) -> u32 {
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(bytes)
}

fn write_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn read_u64(buf: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(bytes)
}

fn split(addr: u32) -> (usize, usize) {
    ((addr >> CHUNK_BITS) as usize, (addr & OFFSET_MASK) as usize)
}

fn kind_from_tag(tag: u8) -> ValueKind {
    match ValueKind::from_tag(tag) {
        Some(kind) => kind,
        None => unreachable!("memtable node with kind tag {tag}"),
    }
}

/// Where a node's key starts and how long it is, from its buffer and offset.
fn key_span(buf: &[u8], offset: usize) -> (usize, usize) {
    let height = ((buf[offset + O_META] >> META_HEIGHT_SHIFT) & META_HEIGHT) as usize;
    let klen = read_u32(buf, offset + O_KLEN) as usize;
    (offset + O_LINKS + 4 * height, klen)
}

/// Where a node's tail (seq, vaddr, vlen) starts.
fn tail_at(buf: &[u8], offset: usize) -> usize {
    let (start, klen) = key_span(buf, offset);
    start + klen
}

impl SkipList {
    pub(super) fn new() -> Self {
        SkipList {
            nodes: Arena::default(),
            values: Arena::default(),
            big: Vec::new(),
            head: [NIL; MAX_HEIGHT],
            height: 1,
            len: 0,
            rng: 0x2545_F491_4F6C_DD1D,
        }
    }

    /// Number of keys.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn random_height(&mut self) -> usize {
        // xorshift64: cheap, and the list's shape needs no better.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        // Each extra level with probability 1/4.
        (1 + (x.trailing_zeros() / 2) as usize).min(MAX_HEIGHT)
    }

    fn next(&self, node: u32, level: usize) -> u32 {
        if node == HEAD {
            return self.head[level];
        }
        let (buf, offset) = self.nodes.chunk(node);
        read_u32(buf, offset + O_LINKS + 4 * level)
    }

    fn set_next(&mut self, node: u32, level: usize, to: u32) {
        if node == HEAD {
            self.head[level] = to;
            return;
        }
        let offset = split(node).1;
        write_u32(self.nodes.chunk_mut(node), offset + O_LINKS + 4 * level, to);
    }

    fn key(&self, node: u32) -> &[u8] {
        let (buf, offset) = self.nodes.chunk(node);
        let (start, klen) = key_span(buf, offset);
        &buf[start..start + klen]
    }

    fn entry(&self, node: u32) -> EntryRef<'_> {
        let (buf, offset) = self.nodes.chunk(node);
        let (start, klen) = key_span(buf, offset);
        let tail = start + klen;
        let vaddr = read_u32(buf, tail + T_VADDR);
        let vlen = read_u32(buf, tail + T_VLEN) as usize;
        let meta = buf[offset + O_META];
        let value: &[u8] = if vlen == 0 {
            &[]
        } else if meta & META_BIG != 0 {
            &self.big[vaddr as usize]
        } else {
            let (vbuf, voffset) = self.values.chunk(vaddr);
            &vbuf[voffset..voffset + vlen]
        };
        EntryRef {
            key: &buf[start..tail],
            seq: SeqNo(read_u64(buf, tail + T_SEQ)),
            kind: kind_from_tag(meta & META_KIND),
            value,
        }
    }

    /// The first node with a key `>= key` (or `NIL`); fills `prev[level]` with the last node
    /// before it on each level in use.
    fn seek(&self, key: &[u8], mut prev: Option<&mut [u32; MAX_HEIGHT]>) -> u32 {
        let mut node = HEAD;
        let mut level = self.height - 1;
        // A node already found to be >= key: skip comparing it again one level down.
        let mut known_ge = NIL;
        loop {
            let next = self.next(node, level);
            if next != NIL && next != known_ge && self.key(next) < key {
                node = next;
                continue;
            }
            known_ge = next;
            if let Some(prev) = prev.as_deref_mut() {
                prev[level] = node;
            }
            if level == 0 {
                return next;
            }
            level -= 1;
        }
    }

    /// Stores a value: `(vaddr, out of line)`.
    fn store_value(&mut self, value: &[u8]) -> (u32, bool) {
        if value.is_empty() {
            (0, false)
        } else if value.len() <= INLINE_MAX {
            (self.values.push(value), false)
        } else {
            self.big.push(value.to_vec());
            ((self.big.len() - 1) as u32, true)
        }
    }

    /// Appends a node with the given links; returns its address.
    fn write_node(
        &mut self,
        key: &[u8],
        seq: SeqNo,
        kind: ValueKind,
        value: &[u8],
        links: &[u32],
    ) -> u32 {
        let height = links.len();
        let (vaddr, big) = self.store_value(value);
        let size = O_LINKS + 4 * height + key.len() + TAIL;
        let addr = self.nodes.alloc(size);
        let chunk = self.nodes.chunk_mut(addr);
        chunk.push(
            kind.tag() | ((height as u8) << META_HEIGHT_SHIFT) | if big { META_BIG } else { 0 },
        );
        chunk.extend_from_slice(&(key.len() as u32).to_le_bytes());
        for link in links {
            chunk.extend_from_slice(&link.to_le_bytes());
        }
        chunk.extend_from_slice(key);
        chunk.extend_from_slice(&seq.0.to_le_bytes());
        chunk.extend_from_slice(&vaddr.to_le_bytes());
        chunk.extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.len += 1;
        addr
    }

    /// Replaces the entry of `node` (same key) with a newer one; returns the old value's
    /// length.
    fn overwrite(&mut self, node: u32, seq: SeqNo, kind: ValueKind, value: &[u8]) -> usize {
        let (buf, offset) = self.nodes.chunk(node);
        let tail = tail_at(buf, offset);
        let old_vaddr = read_u32(buf, tail + T_VADDR);
        let old_vlen = read_u32(buf, tail + T_VLEN) as usize;
        let old_meta = buf[offset + O_META];
        let old_big = old_meta & META_BIG != 0 && old_vlen > 0;
        let (vaddr, big) = if !old_big && !value.is_empty() && value.len() <= old_vlen {
            // Fits where the old value was.
            let voffset = split(old_vaddr).1;
            self.values.chunk_mut(old_vaddr)[voffset..voffset + value.len()].copy_from_slice(value);
            (old_vaddr, false)
        } else if old_big && value.len() > INLINE_MAX {
            self.big[old_vaddr as usize] = value.to_vec();
            (old_vaddr, true)
        } else {
            if old_big {
                self.big[old_vaddr as usize] = Vec::new();
            }
            self.store_value(value)
        };
        let meta =
            (old_meta & !(META_KIND | META_BIG)) | kind.tag() | if big { META_BIG } else { 0 };
        let buf = self.nodes.chunk_mut(node);
        buf[offset + O_META] = meta;
        buf[tail + T_SEQ..tail + T_SEQ + 8].copy_from_slice(&seq.0.to_le_bytes());
        write_u32(buf, tail + T_VADDR, vaddr);
        write_u32(buf, tail + T_VLEN, value.len() as u32);
        old_vlen
    }

    /// Inserts or replaces the entry of `key`, unless the stored one has a newer `seq`.
    /// `kind` must be a point kind (put or delete).
    pub(super) fn insert(
        &mut self,
        key: &[u8],
        seq: SeqNo,
        kind: ValueKind,
        value: &[u8],
    ) -> Inserted {
        debug_assert!(kind != ValueKind::RangeDelete);
        let mut prev = [HEAD; MAX_HEIGHT];
        let found = self.seek(key, Some(&mut prev));
        if found != NIL && self.key(found) == key {
            let (buf, offset) = self.nodes.chunk(found);
            if read_u64(buf, tail_at(buf, offset) + T_SEQ) > seq.0 {
                return Inserted::Ignored;
            }
            return Inserted::Replaced(self.overwrite(found, seq, kind, value));
        }
        let height = self.random_height();
        // Levels above the current height start from the head (`prev` is HEAD there).
        self.height = self.height.max(height);
        let mut links = [NIL; MAX_HEIGHT];
        for (level, link) in links.iter_mut().enumerate().take(height) {
            *link = self.next(prev[level], level);
        }
        let node = self.write_node(key, seq, kind, value, &links[..height]);
        for (level, &before) in prev.iter().enumerate().take(height) {
            self.set_next(before, level, node);
        }
        Inserted::New
    }

    /// Appends an entry whose key is greater than every key in the list (bulk load from
    /// sorted input): `tails` holds the last node of each level, all `HEAD` to begin with.
    pub(super) fn push_sorted(
        &mut self,
        tails: &mut [u32; MAX_HEIGHT],
        key: &[u8],
        seq: SeqNo,
        kind: ValueKind,
        value: &[u8],
    ) {
        debug_assert!(kind != ValueKind::RangeDelete);
        let height = self.random_height();
        self.height = self.height.max(height);
        let node = self.write_node(key, seq, kind, value, &[NIL; MAX_HEIGHT][..height]);
        for (level, tail) in tails.iter_mut().enumerate().take(height) {
            self.set_next(*tail, level, node);
            *tail = node;
        }
    }

    /// Fresh `tails` for [`SkipList::push_sorted`] on an empty list.
    pub(super) fn empty_tails() -> [u32; MAX_HEIGHT] {
        [HEAD; MAX_HEIGHT]
    }

    /// The entry of `key`.
    pub(super) fn get(&self, key: &[u8]) -> Option<EntryRef<'_>> {
        let node = self.seek(key, None);
        (node != NIL && self.key(node) == key).then(|| self.entry(node))
    }

    /// Entries in key order from the first key `>= from` (`None`: from the start), or
    /// `> from` when `exclusive`.
    pub(super) fn iter_from(&self, from: Option<(&[u8], bool)>) -> Iter<'_> {
        let node = match from {
            None => self.head[0],
            Some((key, exclusive)) => {
                let node = self.seek(key, None);
                if exclusive && node != NIL && self.key(node) == key {
                    self.next(node, 0)
                } else {
                    node
                }
            }
        };
        Iter { list: self, node }
    }
}

impl SkipList {
    /// The last node with a key `< key` (`HEAD` when none).
    fn last_before(&self, key: &[u8]) -> u32 {
        let mut prev = [HEAD; MAX_HEIGHT];
        self.seek(key, Some(&mut prev));
        prev[0]
    }

    /// The last node of the list (`HEAD` when empty).
    fn last(&self) -> u32 {
        let mut node = HEAD;
        for level in (0..self.height).rev() {
            loop {
                let next = self.next(node, level);
                if next == NIL {
                    break;
                }
                node = next;
            }
        }
        node
    }

    /// Entries in descending key order from the last key `<= upper` (`None`: from the end),
    /// or `< upper` when `exclusive`. Each step is one search (the links only go forward).
    pub(super) fn iter_rev_from(&self, upper: Option<(&[u8], bool)>) -> RevIter<'_> {
        let node = match upper {
            None => self.last(),
            Some((key, exclusive)) => {
                let at = self.seek(key, None);
                if !exclusive && at != NIL && self.key(at) == key {
                    at
                } else {
                    self.last_before(key)
                }
            }
        };
        RevIter { list: self, node }
    }
}

/// Entries in descending key order.
pub(super) struct RevIter<'a> {
    list: &'a SkipList,
    node: u32,
}

impl<'a> Iterator for RevIter<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        if self.node == HEAD || self.node == NIL {
            return None;
        }
        let entry = self.list.entry(self.node);
        self.node = self.list.last_before(entry.key);
        Some(entry)
    }
}

/// Entries in key order.
pub(super) struct Iter<'a> {
    list: &'a SkipList,
    node: u32,
}

impl<'a> Iterator for Iter<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        if self.node == NIL {
            return None;
        }
        let entry = self.list.entry(self.node);
        self.node = self.list.next(self.node, 0);
        Some(entry)
    }
}
