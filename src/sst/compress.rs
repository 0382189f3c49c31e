//! Block compression: the codecs a table may use, how a compressed block is stored, and the
//! one place that turns stored block bytes back into a payload (checksum, type, codec, size
//! limit, decompression).
//!
//! # Stored block (format version 2; version 1 is the `none` case)
//!
//! ```text
//! +--------------------------------+---------+---------------------------------------+
//! | stored payload                 | type u8 | crc32 u32 of stored payload + type u8 |
//! +--------------------------------+---------+---------------------------------------+
//! type:  low nibble  = block kind (1 data, 2 filter, 3 index, 4 properties, 5 meta)
//!        high nibble = codec (0 none, 1 lz4, 2 zstd)
//! stored payload, codec none:      the payload itself
//! stored payload, codec lz4/zstd:  varint raw_len | compressed bytes (lz4 block / zstd frame)
//! ```
//!
//! The checksum covers the stored (compressed) bytes, so damage is found before the
//! decompressor sees it. `raw_len` is checked against [`MAX_RAW_BLOCK`] before anything is
//! allocated, and the decompressed length must equal it exactly. A block whose compressed
//! form would save less than 1/8 of its payload is stored raw (RocksDB's rule), so a table
//! mixes raw and compressed blocks freely; the codec recorded in the properties block is the
//! one the writer tried.

use crate::codec::{crc32, get_u32, put_u32, put_varint, Decoder};
use crate::types::{MAX_KEY_LEN, MAX_VALUE_LEN};

use super::format::{block_type_name, Fault, BLOCK_TRAILER};

/// The largest payload a compressed block may claim: the largest data block the writer can
/// produce (a full 16 MiB block plus one maximal entry) with room for its restart array.
pub const MAX_RAW_BLOCK: usize = (16 << 20) + MAX_KEY_LEN + MAX_VALUE_LEN + (1 << 20);

/// How a table's data and index blocks are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Stored as is.
    None,
    /// LZ4 block format (`lz4_flex`): fast, the default.
    #[default]
    Lz4,
    /// Zstandard (`zstd`), at the level in [`crate::Options::zstd_level`]: smaller, slower.
    Zstd,
}

impl Compression {
    /// The name used on the command line, in properties and in stats.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// The codec's 4-bit tag (high nibble of the block type byte, and the properties byte).
    pub fn tag(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Lz4 => 1,
            Compression::Zstd => 2,
        }
    }

    /// The codec with this tag.
    pub fn from_tag(tag: u8) -> Option<Compression> {
        match tag {
            0 => Some(Compression::None),
            1 => Some(Compression::Lz4),
            2 => Some(Compression::Zstd),
            _ => None,
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Compression::None),
            "lz4" => Ok(Compression::Lz4),
            "zstd" => Ok(Compression::Zstd),
            _ => Err(format!(
                "unknown compression {s:?} (expected lz4, zstd or none)"
            )),
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compresses block payloads for one writer, reusing its buffers (and its zstd context).
pub struct BlockCompressor {
    codec: Compression,
    zstd_level: i32,
    zstd: Option<zstd::bulk::Compressor<'static>>,
    scratch: Vec<u8>,
}

impl BlockCompressor {
    /// A compressor for `codec` (`zstd_level` matters only for zstd).
    pub fn new(codec: Compression, zstd_level: i32) -> Self {
        BlockCompressor {
            codec,
            zstd_level,
            zstd: None,
            scratch: Vec::new(),
        }
    }

    /// Appends `payload` to `out` as a sealed block of kind `kind`: compressed with the
    /// writer's codec when that saves at least 1/8, else raw.
    pub fn seal(&mut self, out: &mut Vec<u8>, payload: &[u8], kind: u8) {
        let start = out.len();
        let codec = self.compress(payload, out);
        let tag = kind | (codec.tag() << 4);
        if codec == Compression::None {
            out.truncate(start);
            out.extend_from_slice(payload);
        }
        out.push(tag);
        let crc = crc32(&out[start..]);
        put_u32(out, crc);
    }

    /// Tries to append the compressed form (`varint raw_len | bytes`) of `payload` to `out`;
    /// returns the codec used, [`Compression::None`] when it was not worth it (the caller
    /// then discards whatever was appended).
    fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Compression {
        if self.codec == Compression::None || payload.len() > MAX_RAW_BLOCK || payload.len() < 64 {
            return Compression::None;
        }
        let limit = payload.len() - payload.len() / 8;
        let start = out.len();
        put_varint(out, payload.len() as u64);
        let ok = match self.codec {
            Compression::None => false,
            Compression::Lz4 => {
                let bound = lz4_flex::block::get_maximum_output_size(payload.len());
                self.scratch.resize(bound, 0);
                match lz4_flex::block::compress_into(payload, &mut self.scratch) {
                    Ok(n) => {
                        out.extend_from_slice(&self.scratch[..n]);
                        true
                    }
                    Err(_) => false,
                }
            }
            Compression::Zstd => {
                if self.zstd.is_none() {
                    self.zstd = zstd::bulk::Compressor::new(self.zstd_level).ok();
                }
                match &mut self.zstd {
                    Some(z) => {
                        self.scratch
                            .resize(zstd::zstd_safe::compress_bound(payload.len()), 0);
                        match z.compress_to_buffer(payload, &mut self.scratch[..]) {
                            Ok(n) => {
                                out.extend_from_slice(&self.scratch[..n]);
                                true
                            }
                            Err(_) => false,
                        }
                    }
                    None => false,
                }
            }
        };
        if ok && out.len() - start <= limit {
            self.codec
        } else {
            Compression::None
        }
    }
}

/// Verifies a whole stored block (`block`, read at file offset `offset`): checksum over the
/// stored bytes, block kind, codec; then returns its payload, decompressed when needed, and
/// whether it was stored raw (then a payload position `p` is file offset `offset + p`).
pub fn open_block(
    mut block: Vec<u8>,
    offset: u64,
    expected_kind: u8,
) -> Result<(Vec<u8>, bool), Fault> {
    let len = block.len();
    if len < BLOCK_TRAILER {
        return Err(Fault::new(
            offset,
            "bad_block",
            format!("{len}-byte block is shorter than its trailer"),
        ));
    }
    let stored = get_u32(&block, len - 4).unwrap_or(0);
    let actual = crc32(&block[..len - 4]);
    if stored != actual {
        return Err(Fault::new(
            offset,
            "checksum_mismatch",
            format!(
                "{} block checksum mismatch (expected 0x{stored:08x}, found 0x{actual:08x})",
                block_type_name(expected_kind)
            ),
        )
        .values(format!("0x{stored:08x}"), format!("0x{actual:08x}")));
    }
    let tag = block[len - BLOCK_TRAILER];
    let (kind, codec_tag) = (tag & 0x0f, tag >> 4);
    if kind != expected_kind {
        return Err(Fault::new(
            offset + (len - BLOCK_TRAILER) as u64,
            "bad_block",
            format!(
                "block has type {kind} ({}), expected {expected_kind} ({})",
                block_type_name(kind),
                block_type_name(expected_kind)
            ),
        )
        .values(expected_kind.to_string(), kind.to_string()));
    }
    let codec = Compression::from_tag(codec_tag).ok_or_else(|| {
        Fault::new(
            offset + (len - BLOCK_TRAILER) as u64,
            "bad_block",
            format!(
                "{} block uses unknown codec {codec_tag}",
                block_type_name(kind)
            ),
        )
    })?;
    block.truncate(len - BLOCK_TRAILER);
    if codec == Compression::None {
        return Ok((block, true));
    }
    let payload = decompress(&block, codec).map_err(|why| {
        Fault::new(
            offset,
            "bad_block",
            format!(
                "{} block does not decompress ({}): {why}",
                block_type_name(kind),
                codec.as_str()
            ),
        )
    })?;
    Ok((payload, false))
}

/// Decompresses `varint raw_len | bytes`; the length is checked before allocating.
fn decompress(stored: &[u8], codec: Compression) -> Result<Vec<u8>, String> {
    let mut d = Decoder::new(stored);
    let raw_len = d.varint().map_err(|e| format!("length: {e}"))?;
    if raw_len > MAX_RAW_BLOCK as u64 {
        return Err(format!(
            "claims {raw_len} decompressed bytes, above the {MAX_RAW_BLOCK}-byte limit"
        ));
    }
    let raw_len = raw_len as usize;
    let body = &stored[d.position()..];
    let mut out = vec![0u8; raw_len];
    let n = match codec {
        Compression::None => return Err("not compressed".into()),
        Compression::Lz4 => {
            lz4_flex::block::decompress_into(body, &mut out).map_err(|e| e.to_string())?
        }
        Compression::Zstd => {
            zstd::bulk::decompress_to_buffer(body, &mut out[..]).map_err(|e| e.to_string())?
        }
    };
    if n != raw_len {
        return Err(format!(
            "decompressed to {n} bytes, the block claims {raw_len}"
        ));
    }
    Ok(out)
}
