//! Helpers shared by the fuzz targets.
//!
//! Every nokv file format checksums each record and block, so a mutated input almost always
//! fails its first CRC and the decoder behind it is never reached. Each target therefore
//! spends one input byte on a mode: in "fix-up" mode the input is first re-checksummed
//! ([`fix_wal`], [`fix_manifest`], [`fix_sst`]), so the fuzzer explores the structural
//! decoders (lengths, varints, counts, offsets, key order) behind the checksums.

use nokv::codec::crc32;

fn get_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn get_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

fn put_crc(b: &mut [u8], covered: std::ops::Range<usize>, at: usize) {
    let crc = crc32(&b[covered]);
    b[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Recomputes the segment header CRC and, following the length chain, every record CRC
/// (`crc32(len ++ payload)`).
pub fn fix_wal(b: &mut [u8]) {
    if b.len() < 20 {
        return;
    }
    put_crc(b, 0..16, 16);
    let mut pos = 20usize;
    while let Some(len) = get_u32(b, pos) {
        let len = len as usize;
        let Some(end) = (pos + 8).checked_add(len).filter(|&e| e <= b.len()) else {
            break;
        };
        let crc = nokv::codec::crc32_parts(&[&b[pos..pos + 4], &b[pos + 8..end]]);
        b[pos + 4..pos + 8].copy_from_slice(&crc.to_le_bytes());
        pos = end;
    }
}

/// Recomputes the manifest header CRC and, following the length chain, every record CRC
/// (`crc32(payload)`).
pub fn fix_manifest(b: &mut [u8]) {
    if b.len() < 16 {
        return;
    }
    put_crc(b, 0..12, 12);
    let mut pos = 16usize;
    while let Some(len) = get_u32(b, pos) {
        let len = len as usize;
        let Some(end) = (pos + 8).checked_add(len).filter(|&e| e <= b.len()) else {
            break;
        };
        put_crc(b, pos + 8..end, pos + 4);
        pos = end;
    }
}

const FOOTER_LEN: usize = 84;

fn fix_block(b: &mut [u8], offset: u64, size: u64, limit: usize) -> Option<std::ops::Range<usize>> {
    let start = usize::try_from(offset).ok()?;
    let size = usize::try_from(size).ok()?;
    let end = start.checked_add(size)?;
    if size < 5 || end > limit {
        return None;
    }
    put_crc(b, start..end - 4, end - 4);
    Some(start..end - 5)
}

fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The `rest` ranges of the entries of a version-2 prefix-compressed payload
/// (`shared | unshared | rest_len | suffix | rest` ..., restart array, count).
fn prefix_rests(p: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let Some(restarts) = p.len().checked_sub(4).and_then(|at| get_u32(p, at)) else {
        return out;
    };
    let Some(end) = (restarts as usize)
        .checked_mul(4)
        .and_then(|n| n.checked_add(4))
        .and_then(|n| p.len().checked_sub(n))
    else {
        return out;
    };
    let mut pos = 0;
    while pos < end {
        let (Some(_), Some(unshared), Some(rest)) = (
            varint(p, &mut pos),
            varint(p, &mut pos),
            varint(p, &mut pos),
        ) else {
            break;
        };
        let start = pos.saturating_add(unshared as usize);
        let stop = start.saturating_add(rest as usize);
        if stop > end {
            break;
        }
        out.push(start..stop);
        pos = stop;
    }
    out
}

/// The block handles named by an index payload: version 1 (`count`, then `key | offset |
/// size`) or version 2 (prefix-compressed entries whose rest starts with `offset | size`).
fn index_handles(index: &[u8], version: u32) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if version >= 2 {
        for rest in prefix_rests(index) {
            let mut pos = rest.start;
            if let (Some(off), Some(size)) = (varint(index, &mut pos), varint(index, &mut pos)) {
                out.push((off, size));
            }
        }
        return out;
    }
    let mut pos = 0;
    let count = varint(index, &mut pos).unwrap_or(0);
    for _ in 0..count.min(index.len() as u64) {
        let Some(key_len) = varint(index, &mut pos) else {
            break;
        };
        pos = pos.saturating_add(key_len as usize);
        let (Some(off), Some(size)) = (varint(index, &mut pos), varint(index, &mut pos)) else {
            break;
        };
        out.push((off, size));
    }
    out
}

/// Recomputes the CRC of every block the footer names (filter, index, properties, meta),
/// of every index partition and data block the (uncompressed) index blocks name, and of the
/// footer.
pub fn fix_sst(b: &mut [u8]) {
    if b.len() < FOOTER_LEN {
        return;
    }
    let footer = b.len() - FOOTER_LEN;
    let version = get_u32(b, footer + 64).unwrap_or(0);
    let mut handles = [(0u64, 0u64); 4];
    for (i, h) in handles.iter_mut().enumerate() {
        *h = (
            get_u64(b, footer + 16 * i).unwrap_or(0),
            get_u64(b, footer + 16 * i + 8).unwrap_or(0),
        );
    }
    // An uncompressed block's payload (codec nibble 0), after fixing its CRC.
    let raw_payload = |b: &mut [u8], off: u64, size: u64| -> Option<Vec<u8>> {
        let payload = fix_block(b, off, size, footer)?;
        (b[payload.end] >> 4 == 0).then(|| b[payload].to_vec())
    };
    for (i, &(offset, size)) in handles.iter().enumerate() {
        let Some(index) = raw_payload(b, offset, size) else {
            continue;
        };
        if i != 1 {
            continue;
        }
        for (off, size) in index_handles(&index, version) {
            if version >= 2 {
                // A partition: fix the data blocks it names, then the partition itself.
                if let Some(part) = raw_payload(b, off, size) {
                    for (doff, dsize) in index_handles(&part, 2) {
                        fix_block(b, doff, dsize, footer);
                    }
                }
            }
            fix_block(b, off, size, footer);
        }
        // Re-fix the index itself in case a data block overlapped it.
        fix_block(b, offset, size, footer);
    }
    put_crc(b, footer..footer + 72, footer + 72);
}

/// Splits off the mode byte: `(mode, rest)`.
pub fn split_mode(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&m, rest)) => (m, rest),
        None => (0, data),
    }
}
