//! Identifiers and timestamps in the formats kube-apiserver writes.

use jiff::Timestamp;

/// A `metav1.Time`: RFC 3339 in UTC, whole seconds (`2026-11-24T00:54:05Z`).
pub(crate) fn time(ts: Timestamp) -> String {
    format!("{ts:.0}")
}

/// A `metav1.MicroTime`: RFC 3339 in UTC, always six fractional digits
/// (`2026-11-24T00:54:05.729149Z`).
pub(crate) fn micro_time(ts: Timestamp) -> String {
    format!("{ts:.6}")
}

/// A random version-4 UUID, as the API server assigns to `metadata.uid`.
pub(crate) fn uid() -> String {
    let hi = fastrand::u64(..);
    let lo = fastrand::u64(..);
    // Version 4 in the third group, RFC 4122 variant in the fourth.
    let time_hi = ((hi & 0x0fff) | 0x4000) as u16;
    let clock = (((lo >> 48) & 0x3fff) | 0x8000) as u16;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (hi >> 32) as u32,
        ((hi >> 16) & 0xffff) as u16,
        time_hi,
        clock,
        lo & 0xffff_ffff_ffff
    )
}

/// Five lowercase alphanumerics, the suffix kube-apiserver appends to `generateName`.
pub(crate) fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..5)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_match_the_go_layouts() {
        let ts: Timestamp = "2026-11-24T00:54:05.7291499Z".parse().unwrap();
        assert_eq!(time(ts), "2026-11-24T00:54:05Z");
        assert_eq!(micro_time(ts), "2026-11-24T00:54:05.729149Z");
        let whole: Timestamp = "2026-11-24T00:54:05Z".parse().unwrap();
        assert_eq!(micro_time(whole), "2026-11-24T00:54:05.000000Z");
    }

    #[test]
    fn uids_are_version_4_and_distinct() {
        let a = uid();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(a, uid());
    }
}
