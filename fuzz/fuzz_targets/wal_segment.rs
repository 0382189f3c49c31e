//! Bytes as a WAL segment in a MemVfs -> `wal::read_segment`, and as a batch payload ->
//! `batch::decode`. No panic; the summary is self-consistent; re-reading the valid prefix
//! gives the same batches and a clean tail.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nokv::types::FileNumber;
use nokv::vfs::{MemVfs, Vfs};
use nokv::wal::{self, Tail};

type Seen = Vec<(u64, Vec<(u8, Vec<u8>, Vec<u8>)>)>;

fn read(
    vfs: &MemVfs,
    path: &Path,
    expected: Option<FileNumber>,
) -> nokv::Result<(Seen, wal::SegmentSummary)> {
    let mut seen = Vec::new();
    let summary = wal::read_segment(vfs, path, expected, |b| {
        let ops = b
            .ops
            .iter()
            .map(|op| (op.kind.tag(), op.key.to_vec(), op.value.to_vec()))
            .collect();
        seen.push((b.first_seq.0, ops));
        Ok(())
    })?;
    Ok((seen, summary))
}

fuzz_target!(|data: &[u8]| {
    let (mode, rest) = nokv_fuzz::split_mode(data);
    let mut bytes = rest.to_vec();
    if mode & 1 != 0 {
        nokv_fuzz::fix_wal(&mut bytes);
    }
    // The payload decoder on its own.
    let _ = nokv::batch::decode(&bytes);

    let vfs = MemVfs::new();
    vfs.create_dir_all(Path::new("wal")).unwrap();
    let path = Path::new("wal/000007.wal");
    vfs.write_file(path, &bytes);
    let expected = (mode & 2 != 0).then_some(FileNumber(7));
    let Ok((seen, summary)) = read(&vfs, path, expected) else {
        return;
    };
    assert_eq!(summary.file_len, bytes.len() as u64);
    assert!(summary.valid_len <= summary.file_len);
    assert_eq!(seen.len() as u64, summary.records);
    match &summary.tail {
        Tail::Clean => assert_eq!(summary.valid_len, summary.file_len),
        Tail::Torn { offset, .. } | Tail::Corrupt { offset, .. } => {
            assert_eq!(summary.valid_len, *offset)
        }
    }
    if summary.valid_len >= wal::HEADER_LEN {
        // The good prefix reads back the same, cleanly.
        vfs.write_file(path, &bytes[..summary.valid_len as usize]);
        let (again, s2) = read(&vfs, path, expected).expect("valid prefix re-reads");
        assert_eq!(again, seen);
        assert_eq!(s2.tail, Tail::Clean);
    }
});
