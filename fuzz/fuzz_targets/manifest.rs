//! Bytes as a MANIFEST (with a valid CURRENT naming it) in a MemVfs -> `manifest::inspect`
//! and `Manifest::open`; and bytes as one record payload -> `VersionEdit::decode`.
//! No panic; `inspect` and `open` agree; a decoded edit re-encodes to one that decodes equal.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use nokv::manifest::{self, Manifest, Version, VersionEdit};
use nokv::vfs::{MemVfs, Vfs};

const NAME: &str = "MANIFEST-000003";

fn current(name: &str) -> Vec<u8> {
    format!("{name} {:08x}\n", nokv::codec::crc32(name.as_bytes())).into_bytes()
}

fuzz_target!(|data: &[u8]| {
    let (mode, rest) = nokv_fuzz::split_mode(data);

    // The edit decoder directly, with a round trip.
    if let Ok(edit) = VersionEdit::decode(rest) {
        let encoded = edit.encode();
        assert_eq!(VersionEdit::decode(&encoded).as_ref(), Ok(&edit));
        let _ = Version::empty().apply(&edit);
    }

    let mut bytes = rest.to_vec();
    if mode & 1 != 0 {
        nokv_fuzz::fix_manifest(&mut bytes);
    }
    let vfs = MemVfs::new();
    let dir = Path::new("db");
    vfs.create_dir_all(dir).unwrap();
    vfs.write_file(dir.join("CURRENT"), &current(NAME));
    vfs.write_file(dir.join(NAME), &bytes);

    let report = manifest::inspect(&vfs, dir).expect("inspect never fails on a MemVfs");
    assert_eq!(report.current.as_deref(), Some(NAME));
    assert_eq!(report.file_size, bytes.len() as u64);
    if let Some(v) = &report.version {
        let _ = v.check_invariants();
    }
    // Only a torn tail is not a problem for `open`.
    let damaged = report.problems.iter().any(|p| p.kind != "torn_tail");
    let opened = Manifest::open(Arc::new(vfs.clone()), dir);
    match opened {
        Ok((m, version)) => {
            assert!(
                !damaged,
                "open accepted what inspect rejects: {:?}",
                report.problems
            );
            assert_eq!(Some(&version), report.version.as_ref());
            assert_eq!(m.edits(), report.records);
            // `open` cut a torn tail away: the file now inspects clean.
            let again = manifest::inspect(&vfs, dir).unwrap();
            assert!(again.problems.is_empty(), "{:?}", again.problems);
            assert_eq!(again.version.as_ref(), Some(&version));
        }
        Err(e) => {
            assert!(
                damaged,
                "open failed ({e}) where inspect found nothing wrong"
            );
            // A failed open changes nothing.
            assert_eq!(vfs.read_file(dir.join(NAME)).unwrap(), bytes);
        }
    }
});
