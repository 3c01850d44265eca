//! Arbitrary request targets through `mesh_core::authz::normalize_path` under every
//! setting: it must never panic, and what it accepts must be stable (normalizing the
//! output again changes nothing) and free of what the settings remove (`//`, dot
//! segments, escaped slashes).
//!
//! Run with `cargo +nightly fuzz run path_normalize` from the repository root. The same
//! properties run on stable in `mesh-core/tests/authz_properties.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mesh_core::authz::{EscapedSlashes, PathNormalization, normalize_path};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let escaped_slashes = match flags % 3 {
        0 => EscapedSlashes::Reject,
        1 => EscapedSlashes::UnescapeAndForward,
        _ => EscapedSlashes::KeepUnchanged,
    };
    let cfg = PathNormalization { normalize: flags & 4 != 0, merge_slashes: flags & 8 != 0, escaped_slashes };
    let input = String::from_utf8_lossy(rest);
    let Ok(n) = normalize_path(&input, &cfg) else { return };
    assert!(n.path.starts_with('/'), "{input:?} → {n:?}");
    assert_eq!(normalize_path(&n.path_and_query(), &cfg).as_ref(), Ok(&n), "not idempotent: {input:?}");
    if cfg.merge_slashes {
        assert!(!n.path.contains("//"), "{input:?} → {n:?}");
    }
    if cfg.normalize {
        assert!(n.path.split('/').all(|s| s != "." && s != ".."), "{input:?} → {n:?}");
    }
    if cfg.escaped_slashes != EscapedSlashes::KeepUnchanged {
        let upper = n.path.to_ascii_uppercase();
        assert!(!upper.contains("%2F") && !upper.contains("%5C"), "{input:?} → {n:?}");
    }
});
