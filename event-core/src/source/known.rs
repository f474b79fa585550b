//! The objects a scope of an object kind has seen exist in this run, and which of them a relist
//! no longer shows.
//!
//! A watch reports a deletion as DELETED. When the watch cannot resume (410 Gone) and kube-rs's
//! watcher relists, an object deleted in that gap is simply absent from the list; without a
//! record of what existed before, its deletion would go unreported. So the scope remembers,
//! per object, what a deletion record needs (name, namespace, creation time) and the newest
//! resourceVersion seen, and marks each object the list shows: those left unmarked when the list
//! completes were deleted in the gap.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::checkpoint::Uid;

/// What is kept of one object: enough to report its deletion.
#[derive(Debug)]
pub(super) struct KnownObject {
    pub(super) name: Box<str>,
    pub(super) namespace: Option<Box<str>>,
    pub(super) created: Option<Timestamp>,
    /// The newest resourceVersion seen of it.
    pub(super) resource_version: u64,
    /// The list that last showed it, or during which a watch saw it.
    list: u64,
}

/// The objects one scope has seen, by uid.
#[derive(Debug, Default)]
pub(super) struct KnownObjects {
    objects: HashMap<Uid, KnownObject>,
    /// Counts the lists this run began; the one in progress, if any, is the current value.
    list: u64,
}

impl KnownObjects {
    /// Records that the object `uid` exists with `meta`; returns whether it was known before.
    pub(super) fn saw(&mut self, uid: &str, meta: &ObjectMeta) -> bool {
        let rv = meta
            .resource_version
            .as_deref()
            .and_then(|rv| rv.parse::<u64>().ok());
        let list = self.list;
        match self.objects.entry(Uid::new(uid)) {
            Entry::Occupied(mut known) => {
                let known = known.get_mut();
                known.list = list;
                if let Some(rv) = rv {
                    known.resource_version = known.resource_version.max(rv);
                }
                true
            }
            Entry::Vacant(vacant) => {
                vacant.insert(KnownObject {
                    name: meta.name.as_deref().unwrap_or_default().into(),
                    namespace: meta.namespace.as_deref().map(Box::from),
                    created: meta.creation_timestamp.as_ref().map(|t| t.0),
                    resource_version: rv.unwrap_or(0),
                    list,
                });
                false
            }
        }
    }

    /// The object `uid` was deleted (a watch said so).
    pub(super) fn forget(&mut self, uid: &str) {
        self.objects.remove(&Uid::new(uid));
    }

    /// A list begins: from now on, [`saw`](Self::saw) marks the objects it shows.
    pub(super) fn begin_list(&mut self) {
        self.list += 1;
    }

    /// The list is complete: forgets and returns every object known before it that it did not
    /// show, by uid. Empty for the first list of a run, which follows nothing.
    pub(super) fn end_list(&mut self) -> Vec<(String, KnownObject)> {
        let list = self.list;
        self.objects
            .extract_if(|_, known| known.list != list)
            .map(|(uid, known)| (uid.to_string(), known))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, rv: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("payments".to_owned()),
            resource_version: Some(rv.to_owned()),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn an_object_is_known_once_seen_and_until_deleted() {
        let mut known = KnownObjects::default();
        assert!(!known.saw("u1", &meta("web-0", "5")));
        assert!(known.saw("u1", &meta("web-0", "6")));
        known.forget("u1");
        assert!(!known.saw("u1", &meta("web-0", "7")));
    }

    #[test]
    fn the_first_list_of_a_run_reports_nothing_gone() {
        let mut known = KnownObjects::default();
        known.begin_list();
        known.saw("u1", &meta("web-0", "5"));
        assert!(known.end_list().is_empty());
        assert!(known.saw("u1", &meta("web-0", "6")), "still known");
    }

    #[test]
    fn a_relist_reports_what_it_no_longer_shows_with_its_newest_version() {
        let mut known = KnownObjects::default();
        known.begin_list();
        known.saw("u1", &meta("web-0", "5"));
        known.saw("u2", &meta("web-1", "6"));
        known.end_list();
        // Seen by the watch after the first list, then the watch falls out of the window.
        known.saw("u2", &meta("web-1", "9"));
        known.saw("u3", &meta("web-2", "10"));
        known.begin_list();
        known.saw("u1", &meta("web-0", "12"));
        let mut gone = known.end_list();
        gone.sort_by(|a, b| a.0.cmp(&b.0));
        let names: Vec<(&str, &str, u64)> = gone
            .iter()
            .map(|(uid, k)| (uid.as_str(), &*k.name, k.resource_version))
            .collect();
        assert_eq!(names, [("u2", "web-1", 9), ("u3", "web-2", 10)]);
        assert_eq!(gone[0].1.namespace.as_deref(), Some("payments"));
        // Reported once: the next relist does not report them again.
        known.begin_list();
        known.saw("u1", &meta("web-0", "12"));
        assert!(known.end_list().is_empty());
    }

    #[test]
    fn an_older_version_seen_later_does_not_lower_the_newest() {
        let mut known = KnownObjects::default();
        known.saw("u1", &meta("web-0", "9"));
        known.saw("u1", &meta("web-0", "4"));
        known.begin_list();
        let gone = known.end_list();
        assert_eq!(gone[0].1.resource_version, 9);
    }

    #[test]
    fn uuid_uids_come_back_as_the_same_text() {
        let uid = "0b7e5b2c-3c1a-4f7e-9d2a-6a1f0c9e8b7d";
        let mut known = KnownObjects::default();
        known.saw(uid, &meta("web-0", "5"));
        known.begin_list();
        assert_eq!(known.end_list()[0].0, uid);
    }
}
