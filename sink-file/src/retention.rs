//! [`Retention`]: which closed files to delete, keeping the newest N files and/or N days.

use jiff::{SignedDuration, Timestamp};

use crate::naming::ArchiveName;

/// How much of the archive to keep. Both limits apply when both are set: a file goes as soon as
/// either says so. The file being written is never deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Retention {
    /// Keep at most this many files, the one being written included.
    pub(crate) keep_files: Option<u32>,
    /// Keep the files that still hold events written in the last this many days.
    pub(crate) keep_days: Option<u32>,
}

impl Retention {
    /// Whether the retention ever deletes anything.
    pub(crate) fn is_unlimited(&self) -> bool {
        self.keep_files.is_none() && self.keep_days.is_none()
    }

    /// The files to delete at `now`, oldest first. `files` is the archive oldest first, as
    /// listed; `active` is the file being written.
    ///
    /// A file's age is that of its last write, which is no later than the start of the file
    /// after it: its name says when it started, the next name says when it ended. File times in
    /// the file system are not used, so that copying an archive does not change what is kept.
    pub(crate) fn expired(
        &self,
        files: &[ArchiveName],
        active: &ArchiveName,
        now: Timestamp,
    ) -> Vec<ArchiveName> {
        let keep_from = self
            .keep_files
            .map_or(0, |keep| files.len().saturating_sub(keep as usize));
        let cutoff = self.keep_days.and_then(|days| {
            now.checked_sub(SignedDuration::from_hours(24 * i64::from(days)))
                .ok()
        });
        files
            .iter()
            .enumerate()
            .filter(|(_, name)| name.to_plain() != active.to_plain())
            .filter(|(index, _)| {
                let too_many = *index < keep_from;
                let too_old = cutoff.is_some_and(|cutoff| {
                    files
                        .get(index + 1)
                        .is_some_and(|next| next.start() <= cutoff)
                });
                too_many || too_old
            })
            .map(|(_, name)| name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// One file per day from 2026-11-01, the last being written.
    fn daily(count: usize) -> Vec<ArchiveName> {
        (0..count)
            .map(|day| {
                let start =
                    ts("2026-11-01T00:00:00Z") + SignedDuration::from_hours(24 * day as i64);
                ArchiveName::new("events", start, 1)
            })
            .collect()
    }

    fn names(files: &[ArchiveName]) -> Vec<String> {
        files.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn keeps_everything_without_limits() {
        let files = daily(5);
        let retention = Retention::default();
        assert!(retention.is_unlimited());
        assert!(
            retention
                .expired(&files, &files[4], ts("2027-01-01T00:00:00Z"))
                .is_empty()
        );
    }

    #[test]
    fn keeps_the_newest_n_files_counting_the_active_one() {
        let files = daily(5);
        let retention = Retention {
            keep_files: Some(2),
            keep_days: None,
        };
        let expired = retention.expired(&files, &files[4], ts("2026-11-05T12:00:00Z"));
        assert_eq!(names(&expired), names(&files[..3]));
    }

    #[test]
    fn never_deletes_the_active_file_even_when_it_is_not_the_newest_listed() {
        let files = daily(3);
        let retention = Retention {
            keep_files: Some(1),
            keep_days: Some(1),
        };
        let expired = retention.expired(&files, &files[0], ts("2027-01-01T00:00:00Z"));
        assert!(!expired.contains(&files[0]));
        assert!(
            !retention
                .expired(
                    &files,
                    &files[0].to_compressed(),
                    ts("2027-01-01T00:00:00Z")
                )
                .contains(&files[0])
        );
    }

    #[test]
    fn keeps_files_holding_events_of_the_last_n_days() {
        let files = daily(5); // Nov 1..=5; the Nov 2 file ended at Nov 3 00:00.
        let retention = Retention {
            keep_files: None,
            keep_days: Some(2),
        };
        let expired = retention.expired(&files, &files[4], ts("2026-11-05T00:00:00Z"));
        assert_eq!(names(&expired), names(&files[..2]));
        let a_second_earlier = retention.expired(&files, &files[4], ts("2026-11-04T23:59:59Z"));
        assert_eq!(names(&a_second_earlier), names(&files[..1]));
    }

    #[test]
    fn either_limit_deletes_a_file() {
        let files = daily(5);
        let by_count = Retention {
            keep_files: Some(4),
            keep_days: Some(30),
        };
        assert_eq!(
            names(&by_count.expired(&files, &files[4], ts("2026-11-05T00:00:00Z"))),
            names(&files[..1])
        );
        let by_age = Retention {
            keep_files: Some(100),
            keep_days: Some(1),
        };
        assert_eq!(
            names(&by_age.expired(&files, &files[4], ts("2026-11-05T00:00:00Z"))),
            names(&files[..3])
        );
    }
}
