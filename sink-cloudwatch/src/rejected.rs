//! Reading `rejectedLogEventsInfo`: which events of a PutLogEvents request CloudWatch refused.
//!
//! CloudWatch stores the valid events of a request and reports the others by position:
//! `tooNewLogEventStartIndex` (inclusive: that event and every later one is more than 2 hours
//! ahead), `tooOldLogEventEndIndex` and `expiredLogEventEndIndex` (every event up to that
//! position is older than 14 days, or than the group's retention). The API reference calls the
//! two end indexes exclusive while some implementations (moto among them) report the last
//! refused position; the sink reads them as inclusive, so the event at the boundary is reported
//! refused in both readings. At worst it is stored *and* routed to the dead letter, never
//! acknowledged without being stored.

use aws_sdk_cloudwatchlogs::types::RejectedLogEventsInfo;

/// Why CloudWatch refused an event, by position in the request.
pub(crate) fn refused_positions(
    info: &RejectedLogEventsInfo,
    len: usize,
) -> Vec<(usize, &'static str)> {
    let mut refused: Vec<Option<&'static str>> = vec![None; len];
    let position = |i: i32| usize::try_from(i).ok();
    if let Some(end) = info.too_old_log_event_end_index().and_then(position) {
        for slot in refused.iter_mut().take(end.saturating_add(1)) {
            *slot = Some(
                "CloudWatch Logs refused the event as older than 14 days (tooOldLogEventEndIndex)",
            );
        }
    }
    if let Some(end) = info.expired_log_event_end_index().and_then(position) {
        for slot in refused.iter_mut().take(end.saturating_add(1)) {
            *slot = Some(
                "CloudWatch Logs refused the event as older than the log group's retention (expiredLogEventEndIndex)",
            );
        }
    }
    if let Some(start) = info.too_new_log_event_start_index().and_then(position) {
        for slot in refused.iter_mut().skip(start) {
            *slot = Some(
                "CloudWatch Logs refused the event as more than 2 hours in the future (tooNewLogEventStartIndex)",
            );
        }
    }
    refused
        .into_iter()
        .enumerate()
        .filter_map(|(i, reason)| reason.map(|r| (i, r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positions(info: RejectedLogEventsInfo, len: usize) -> Vec<usize> {
        refused_positions(&info, len)
            .into_iter()
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn nothing_reported_means_nothing_refused() {
        assert!(positions(RejectedLogEventsInfo::builder().build(), 5).is_empty());
    }

    #[test]
    fn too_old_and_expired_ends_are_read_inclusively() {
        let old = RejectedLogEventsInfo::builder()
            .too_old_log_event_end_index(1)
            .build();
        assert_eq!(positions(old, 5), [0, 1]);
        let expired = RejectedLogEventsInfo::builder()
            .expired_log_event_end_index(0)
            .build();
        let refused = refused_positions(&expired, 3);
        assert_eq!(refused.len(), 1);
        assert!(refused[0].1.contains("retention"), "{}", refused[0].1);
    }

    #[test]
    fn too_new_start_refuses_that_event_and_every_later_one() {
        let new = RejectedLogEventsInfo::builder()
            .too_new_log_event_start_index(3)
            .build();
        assert_eq!(positions(new, 5), [3, 4]);
        let both = RejectedLogEventsInfo::builder()
            .too_old_log_event_end_index(0)
            .too_new_log_event_start_index(4)
            .build();
        assert_eq!(positions(both, 5), [0, 4]);
    }

    #[test]
    fn out_of_range_indexes_are_bounded_by_the_request() {
        let info = RejectedLogEventsInfo::builder()
            .too_old_log_event_end_index(99)
            .too_new_log_event_start_index(-1)
            .build();
        assert_eq!(positions(info, 3), [0, 1, 2]);
        let new = RejectedLogEventsInfo::builder()
            .too_new_log_event_start_index(10)
            .build();
        assert!(positions(new, 3).is_empty());
    }
}
