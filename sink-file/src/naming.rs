//! [`ArchiveName`]: file names that sort by time, are easy to grep, and parse back.
//!
//! `events-2026-11-24T10-00-00Z.0001.jsonl`: the prefix, the start of the file's period in UTC
//! (colons replaced by dashes so that the name is valid everywhere), a sequence number for the
//! files started by size within one period, and `.jsonl`, or `.jsonl.gz` once compressed.

use std::cmp::Ordering;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// The extension of a file being written or closed without compression.
pub const PLAIN_EXTENSION: &str = ".jsonl";
/// The extension of a compressed file.
pub const COMPRESSED_EXTENSION: &str = ".jsonl.gz";
/// The suffix of a compressed file still being written; never read, removed at start-up.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

const STAMP_FORMAT: &str = "%Y-%m-%dT%H-%M-%SZ";
const STAMP_LEN: usize = "2026-11-24T10-00-00Z".len();

/// The name of one file of the archive, e.g. `events-2026-11-24T10-00-00Z.0001.jsonl`.
///
/// Names order by start time, then sequence number; [`ArchiveName::parse`] accepts exactly the
/// names that [`Display`](fmt::Display) writes.
///
/// ```
/// use sink_file::ArchiveName;
///
/// let name = ArchiveName::parse("events", "events-2026-11-24T10-00-00Z.0002.jsonl.gz").unwrap();
/// assert_eq!(name.start().to_string(), "2026-11-24T10:00:00Z");
/// assert_eq!(name.seq(), 2);
/// assert!(name.is_compressed());
/// assert_eq!(name.to_plain().to_string(), "events-2026-11-24T10-00-00Z.0002.jsonl");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArchiveName {
    prefix: String,
    start: Timestamp,
    seq: u32,
    compressed: bool,
}

impl ArchiveName {
    /// The name of an uncompressed file; `start` is cut to the second.
    pub fn new(prefix: impl Into<String>, start: Timestamp, seq: u32) -> Self {
        ArchiveName {
            prefix: prefix.into(),
            start: Timestamp::from_second(start.as_second()).unwrap_or(start),
            seq,
            compressed: false,
        }
    }

    /// Parses a file name written by the sink with this `prefix`; `None` for any other name.
    pub fn parse(prefix: &str, file_name: &str) -> Option<Self> {
        let rest = file_name.strip_prefix(prefix)?.strip_prefix('-')?;
        let (rest, compressed) = match rest.strip_suffix(COMPRESSED_EXTENSION) {
            Some(rest) => (rest, true),
            None => (rest.strip_suffix(PLAIN_EXTENSION)?, false),
        };
        let (stamp, seq) = rest.split_once('.')?;
        if stamp.len() != STAMP_LEN || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let civil = DateTime::strptime(&STAMP_FORMAT[..STAMP_FORMAT.len() - 1], stamp.get(..19)?);
        let start = civil.ok()?.to_zoned(TimeZone::UTC).ok()?.timestamp();
        let name = ArchiveName {
            prefix: prefix.to_owned(),
            start,
            seq: seq.parse().ok()?,
            compressed,
        };
        // Only the exact spelling we write: no unpadded fields, no stray characters.
        (name.to_string() == file_name).then_some(name)
    }

    /// The prefix shared by the files of one archive.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// When the file was started: the start of its period, or the time it was opened when
    /// rotating by size only.
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// The sequence number among the files with the same start, from 1.
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// Whether this is the gzip-compressed form (`.jsonl.gz`).
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// The compressed form of this name.
    #[must_use]
    pub fn to_compressed(&self) -> Self {
        ArchiveName {
            compressed: true,
            ..self.clone()
        }
    }

    /// The uncompressed form of this name.
    #[must_use]
    pub fn to_plain(&self) -> Self {
        ArchiveName {
            compressed: false,
            ..self.clone()
        }
    }

    /// The name of the file that follows this one when started at `stamp`: never earlier than this
    /// one, so that names keep the order files were written in even if the clock goes back.
    pub(crate) fn successor(&self, stamp: Timestamp) -> Self {
        let next = ArchiveName::new(self.prefix.clone(), stamp, 1);
        if next.start > self.start {
            next
        } else {
            ArchiveName {
                seq: self.seq.saturating_add(1),
                ..self.to_plain()
            }
        }
    }

    /// The name of the temporary file this one is compressed into.
    pub(crate) fn temp_compressed(&self) -> String {
        format!("{}{TEMP_SUFFIX}", self.to_compressed())
    }

    /// Whether `file_name` is a temporary file left by a compression with this prefix.
    pub(crate) fn is_temp(prefix: &str, file_name: &str) -> bool {
        file_name
            .strip_suffix(TEMP_SUFFIX)
            .and_then(|name| ArchiveName::parse(prefix, name))
            .is_some_and(|name| name.is_compressed())
    }
}

impl fmt::Display for ArchiveName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extension = if self.compressed {
            COMPRESSED_EXTENSION
        } else {
            PLAIN_EXTENSION
        };
        write!(
            f,
            "{}-{}.{:04}{extension}",
            self.prefix,
            self.start.strftime(STAMP_FORMAT),
            self.seq
        )
    }
}

impl Ord for ArchiveName {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.start, self.seq, self.compressed, &self.prefix).cmp(&(
            other.start,
            other.seq,
            other.compressed,
            &other.prefix,
        ))
    }
}

impl PartialOrd for ArchiveName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The files of one archive found in a directory.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Listing {
    /// One name per file, oldest first; the uncompressed form when both exist.
    pub(crate) files: Vec<ArchiveName>,
    /// Compressed files whose uncompressed original still exists: a compression interrupted
    /// between the rename and the removal of the original.
    pub(crate) twins: Vec<ArchiveName>,
    /// Temporary files of interrupted compressions.
    pub(crate) temps: Vec<String>,
}

impl Listing {
    /// Sorts the names in a directory into the files of the archive with `prefix`.
    pub(crate) fn from_names(prefix: &str, names: impl IntoIterator<Item = String>) -> Self {
        let mut listing = Listing::default();
        let mut all = Vec::new();
        for name in names {
            if let Some(parsed) = ArchiveName::parse(prefix, &name) {
                all.push(parsed);
            } else if ArchiveName::is_temp(prefix, &name) {
                listing.temps.push(name);
            }
        }
        // Plain sorts before its compressed twin, so the twin follows right after it.
        all.sort();
        for name in all {
            match listing.files.last() {
                Some(last) if name.is_compressed() && *last == name.to_plain() => {
                    listing.twins.push(name);
                }
                _ => listing.files.push(name),
            }
        }
        listing.temps.sort();
        listing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn writes_names_that_sort_by_time_and_grep_easily() {
        let name = ArchiveName::new("events", ts("2026-11-24T10:00:00Z"), 1);
        assert_eq!(name.to_string(), "events-2026-11-24T10-00-00Z.0001.jsonl");
        assert_eq!(
            name.to_compressed().to_string(),
            "events-2026-11-24T10-00-00Z.0001.jsonl.gz"
        );
    }

    #[test]
    fn parses_back_what_it_writes() {
        let name = ArchiveName::new("kube-events_a", ts("2026-02-03T04:05:06.7Z"), 42);
        assert_eq!(name.start(), ts("2026-02-03T04:05:06Z"));
        for written in [name.clone(), name.to_compressed()] {
            let parsed = ArchiveName::parse("kube-events_a", &written.to_string());
            assert_eq!(parsed, Some(written));
        }
    }

    #[test]
    fn sequence_numbers_past_four_digits_still_parse_and_order() {
        let t = ts("2026-11-24T10:00:00Z");
        let big = ArchiveName::new("events", t, 12_345);
        assert_eq!(
            ArchiveName::parse("events", &big.to_string()),
            Some(big.clone())
        );
        assert!(ArchiveName::new("events", t, 9_999) < big);
    }

    #[test]
    fn rejects_names_of_other_archives_and_near_misses() {
        for name in [
            "events-2026-11-24T10-00-00Z.0001.json",
            "events-2026-11-24T10-00-00Z.jsonl",
            "events-2026-11-24T10-00-00.0001.jsonl",
            "events-2026-11-24T10:00:00Z.0001.jsonl",
            "events-2026-11-24T25-00-00Z.0001.jsonl",
            "events-2026-11-24T10-00-00Z.00a1.jsonl",
            "events-2026-11-24T10-00-00Z.0001.jsonl.gz.tmp",
            "other-2026-11-24T10-00-00Z.0001.jsonl",
            "eventsx-2026-11-24T10-00-00Z.0001.jsonl",
            "events-x-2026-11-24T10-00-00Z.0001.jsonl",
            "checkpoint.json",
        ] {
            assert_eq!(ArchiveName::parse("events", name), None, "{name}");
        }
    }

    #[test]
    fn orders_by_start_then_sequence() {
        let a = ArchiveName::new("events", ts("2026-11-24T10:00:00Z"), 2);
        let b = ArchiveName::new("events", ts("2026-11-24T11:00:00Z"), 1);
        let c = ArchiveName::new("events", ts("2026-11-24T10:00:00Z"), 10);
        let mut names = vec![b.clone(), c.clone(), a.clone()];
        names.sort();
        assert_eq!(names, [a, c, b]);
    }

    #[test]
    fn successor_starts_a_new_period_at_one_and_counts_up_within_one() {
        let current = ArchiveName::new("events", ts("2026-11-24T10:00:00Z"), 3);
        let same = current.successor(ts("2026-11-24T10:00:00Z"));
        assert_eq!((same.start(), same.seq()), (current.start(), 4));
        let next = current.successor(ts("2026-11-24T11:00:00Z"));
        assert_eq!((next.start(), next.seq()), (ts("2026-11-24T11:00:00Z"), 1));
    }

    #[test]
    fn successor_never_sorts_before_its_predecessor_when_the_clock_goes_back() {
        let current = ArchiveName::new("events", ts("2026-11-24T10:00:00Z"), 3);
        let next = current.successor(ts("2026-11-24T09:00:00Z"));
        assert!(next > current);
        assert_eq!(next.start(), current.start());
    }

    #[test]
    fn listing_prefers_the_original_over_a_compressed_twin_and_finds_temps() {
        let names = [
            "events-2026-11-24T11-00-00Z.0001.jsonl",
            "events-2026-11-24T10-00-00Z.0001.jsonl.gz",
            "events-2026-11-24T10-00-00Z.0002.jsonl.gz",
            "events-2026-11-24T10-00-00Z.0002.jsonl",
            "events-2026-11-24T11-00-00Z.0001.jsonl.gz.tmp",
            "notes.txt",
        ];
        let listing = Listing::from_names("events", names.iter().map(|n| n.to_string()));
        let files: Vec<String> = listing.files.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            files,
            [
                "events-2026-11-24T10-00-00Z.0001.jsonl.gz",
                "events-2026-11-24T10-00-00Z.0002.jsonl",
                "events-2026-11-24T11-00-00Z.0001.jsonl",
            ]
        );
        assert_eq!(
            listing
                .twins
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>(),
            ["events-2026-11-24T10-00-00Z.0002.jsonl.gz"]
        );
        assert_eq!(
            listing.temps,
            ["events-2026-11-24T11-00-00Z.0001.jsonl.gz.tmp"]
        );
    }
}
