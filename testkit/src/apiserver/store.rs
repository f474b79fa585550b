//! The object store: one global resourceVersion, a bounded history of changes like etcd's
//! compaction window, snapshot reads for paginated lists, and the feed to open watches.
//!
//! Over 400 lines with its tests only (about 300 without).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::time::Instant;

use super::object::{Body, Change, ChangeKind, Key, Stored};
use super::resource::Resource;

mod feed;
mod snapshot;

use feed::Watcher;
pub(crate) use feed::{Start, Subscription, WatchMsg};
pub(crate) use snapshot::ReadAt;

/// Why a write was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum StoreError {
    #[error("object not found")]
    NotFound,
    #[error("object already exists")]
    AlreadyExists,
    #[error(
        "the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict,
    #[error("{0}")]
    Invalid(String),
}

/// A read or watch asked for a resourceVersion that has been compacted away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expired {
    pub requested: u64,
    /// The oldest resourceVersion still readable.
    pub oldest: u64,
}

#[derive(Default)]
struct Inner {
    rv: u64,
    objects: BTreeMap<Resource, BTreeMap<Key, Arc<Stored>>>,
    history: VecDeque<Arc<Change>>,
    /// Reads and watches need every change after their RV; those at or below this are gone.
    compacted: u64,
    /// Continue tokens at or below this RV were issued before `compact()`.
    continue_floor: u64,
    watchers: Vec<Watcher>,
    /// Where recent list pages ended and how many items followed.
    tally: snapshot::Tally,
}

/// The store; all methods are short critical sections on one mutex.
pub(crate) struct Store {
    inner: Mutex<Inner>,
    history_window: usize,
}

fn in_namespace(key: &Key, namespace: Option<&str>) -> bool {
    namespace.is_none_or(|ns| key.0 == ns)
}

impl Store {
    pub(crate) fn new(history_window: usize) -> Self {
        Store {
            inner: Mutex::new(Inner::default()),
            history_window,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-written in a way that
        // matters to a test server, so keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current global resourceVersion.
    pub(crate) fn rv(&self) -> u64 {
        self.lock().rv
    }

    /// How many objects of `resource` exist.
    pub(crate) fn count(&self, resource: Resource) -> usize {
        self.lock().objects.get(&resource).map_or(0, BTreeMap::len)
    }

    /// The current object at `key`.
    pub(crate) fn get(&self, resource: Resource, key: &Key) -> Option<Arc<Stored>> {
        self.lock().objects.get(&resource)?.get(key).cloned()
    }

    /// Stores a new object; `body` gets the next resourceVersion.
    pub(crate) fn create(&self, resource: Resource, body: Body) -> Result<Arc<Stored>, StoreError> {
        let key = body.key();
        let mut inner = self.lock();
        if inner
            .objects
            .get(&resource)
            .is_some_and(|m| m.contains_key(&key))
        {
            return Err(StoreError::AlreadyExists);
        }
        Ok(self.commit(&mut inner, resource, key, Some(body), ChangeKind::Added))
    }

    /// Replaces the object at `key` by `f(current)`, if `precondition` (a resourceVersion)
    /// matches; with `create`, a missing object is created from `f(None)`.
    pub(crate) fn update(
        &self,
        resource: Resource,
        key: &Key,
        precondition: Option<u64>,
        create: bool,
        f: impl FnOnce(Option<&Stored>) -> Result<Body, StoreError>,
    ) -> Result<Arc<Stored>, StoreError> {
        let mut inner = self.lock();
        let current = inner
            .objects
            .get(&resource)
            .and_then(|m| m.get(key))
            .cloned();
        let kind = match (&current, create) {
            (None, false) => return Err(StoreError::NotFound),
            (None, true) => ChangeKind::Added,
            (Some(_), _) => ChangeKind::Modified,
        };
        if let (Some(want), Some(cur)) = (precondition, &current)
            && want != cur.rv
        {
            return Err(StoreError::Conflict);
        }
        let body = f(current.as_deref())?;
        if &body.key() != key {
            return Err(StoreError::Invalid(
                "metadata.name and namespace cannot change".into(),
            ));
        }
        Ok(self.commit(&mut inner, resource, key.clone(), Some(body), kind))
    }

    /// Stores `body` with the given resourceVersion (ADDED, or MODIFIED if its key exists), which
    /// becomes the global one; it must be newer than every write so far.
    pub(crate) fn put_at(
        &self,
        resource: Resource,
        body: Body,
        rv: u64,
    ) -> Result<Arc<Stored>, StoreError> {
        let key = body.key();
        let mut inner = self.lock();
        if rv <= inner.rv {
            return Err(StoreError::Invalid(format!(
                "resourceVersion {rv} is not newer than the server's {}",
                inner.rv
            )));
        }
        let exists = inner
            .objects
            .get(&resource)
            .is_some_and(|m| m.contains_key(&key));
        let kind = if exists {
            ChangeKind::Modified
        } else {
            ChangeKind::Added
        };
        inner.rv = rv;
        Ok(self.apply(&mut inner, resource, key, Some(body), kind, rv))
    }

    /// Deletes the object at `key` (if `precondition` matches), returning its last state with
    /// the deletion's resourceVersion.
    pub(crate) fn delete(
        &self,
        resource: Resource,
        key: &Key,
        precondition: Option<u64>,
    ) -> Result<Arc<Stored>, StoreError> {
        let mut inner = self.lock();
        let current = inner
            .objects
            .get(&resource)
            .and_then(|m| m.get(key))
            .cloned();
        let current = current.ok_or(StoreError::NotFound)?;
        if precondition.is_some_and(|want| want != current.rv) {
            return Err(StoreError::Conflict);
        }
        Ok(self.commit(&mut inner, resource, key.clone(), None, ChangeKind::Deleted))
    }

    /// Deletes every object of `resource` matching `pred` at ONE shared resourceVersion, as an
    /// etcd lease expiry does, in key order. Returns the deleted objects.
    pub(crate) fn delete_where(
        &self,
        resource: Resource,
        pred: impl Fn(&Stored) -> bool,
    ) -> Vec<Arc<Stored>> {
        let mut inner = self.lock();
        let keys: Vec<Key> = inner
            .objects
            .get(&resource)
            .map(|m| {
                m.iter()
                    .filter(|(_, s)| pred(s))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default();
        if keys.is_empty() {
            return Vec::new();
        }
        inner.rv += 1;
        let rv = inner.rv;
        keys.into_iter()
            .map(|key| self.apply(&mut inner, resource, key, None, ChangeKind::Deleted, rv))
            .collect()
    }

    fn commit(
        &self,
        inner: &mut Inner,
        resource: Resource,
        key: Key,
        body: Option<Body>,
        kind: ChangeKind,
    ) -> Arc<Stored> {
        inner.rv += 1;
        let rv = inner.rv;
        self.apply(inner, resource, key, body, kind, rv)
    }

    /// Records one change at `rv` (already counted), feeding history and watches.
    fn apply(
        &self,
        inner: &mut Inner,
        resource: Resource,
        key: Key,
        body: Option<Body>,
        kind: ChangeKind,
        rv: u64,
    ) -> Arc<Stored> {
        let now = Instant::now();
        let map = inner.objects.entry(resource).or_default();
        let prev = map.get(&key).cloned();
        let object = match (body, &prev) {
            (Some(body), _) => {
                let stored = Arc::new(Stored::new(resource, body, rv, now));
                map.insert(key.clone(), stored.clone());
                stored
            }
            (None, Some(last)) => {
                map.remove(&key);
                // The DELETED notification carries the last state at the deletion's RV.
                Arc::new(Stored::new(resource, last.body(), rv, last.written))
            }
            // Callers only delete existing keys.
            (None, None) => Arc::new(Stored::new(
                resource,
                Body::Object(Default::default()),
                rv,
                now,
            )),
        };
        let change = Arc::new(Change {
            kind,
            object: object.clone(),
            prev,
        });
        inner.history.push_back(change.clone());
        while inner.history.len() > self.history_window {
            if let Some(old) = inner.history.pop_front() {
                inner.compacted = inner.compacted.max(old.rv());
            }
        }
        inner.watchers.retain(|w| {
            if w.resource != resource || !in_namespace(&key, w.namespace.as_deref()) {
                return !w.tx.is_closed();
            }
            w.tx.send(WatchMsg::Change(change.clone())).is_ok()
        });
        object
    }

    /// Drops all history: reads and watches from any older resourceVersion expire, and so do
    /// outstanding continue tokens.
    pub(crate) fn compact(&self) {
        let mut inner = self.lock();
        inner.history.clear();
        inner.compacted = inner.rv;
        inner.continue_floor = inner.rv;
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::CoreEvent;
    use super::snapshot::Page;
    use super::*;

    fn event(ns: &str, name: &str) -> Body {
        let mut ev = CoreEvent::default();
        ev.metadata.namespace = ns.into();
        ev.metadata.name = name.into();
        ev.metadata.uid = format!("uid-{name}");
        Body::Event(Box::new(ev))
    }

    fn key(ns: &str, name: &str) -> Key {
        Key(ns.into(), name.into())
    }

    fn names(page: &Page) -> Vec<String> {
        page.items.iter().map(|s| s.key().1).collect()
    }

    fn all(_: &Stored) -> bool {
        true
    }

    #[test]
    fn every_write_takes_the_next_global_resource_version_and_deletes_take_a_new_one() {
        let store = Store::new(100);
        let a = store.create(Resource::Events, event("demo", "a")).unwrap();
        let b = store.create(Resource::Pods, event("demo", "b")).unwrap();
        let deleted = store
            .delete(Resource::Events, &key("demo", "a"), None)
            .unwrap();
        assert_eq!((a.rv, b.rv, deleted.rv), (1, 2, 3));
        assert_eq!(deleted.uid(), "uid-a");
        assert_eq!(store.rv(), 3);
        assert_eq!(
            store
                .create(Resource::Pods, event("demo", "b"))
                .unwrap_err(),
            StoreError::AlreadyExists
        );
    }

    #[test]
    fn a_ttl_style_sweep_deletes_in_key_order_at_one_shared_resource_version() {
        let store = Store::new(100);
        for name in ["c", "a", "b"] {
            store.create(Resource::Events, event("demo", name)).unwrap();
        }
        let deleted = store.delete_where(Resource::Events, |s| s.key().1 != "b");
        let seen: Vec<_> = deleted.iter().map(|s| (s.key().1, s.rv)).collect();
        assert_eq!(seen, [("a".to_owned(), 4), ("c".to_owned(), 4)]);
        assert_eq!(store.count(Resource::Events), 1);
        assert!(store.delete_where(Resource::Events, |_| false).is_empty());
        assert_eq!(store.rv(), 4, "an empty sweep takes no resourceVersion");
    }

    #[test]
    fn a_watch_replays_every_change_after_its_resource_version_then_gets_live_ones() {
        let store = Store::new(100);
        store.create(Resource::Events, event("demo", "a")).unwrap();
        store.create(Resource::Events, event("other", "b")).unwrap();
        store
            .update(Resource::Events, &key("demo", "a"), Some(1), false, |_| {
                Ok(event("demo", "a"))
            })
            .unwrap();
        let mut sub = store
            .watch(Resource::Events, Some("demo".into()), Some(1))
            .unwrap();
        let Start::Replay(changes) = &sub.start else {
            panic!("expected a replay")
        };
        let replayed: Vec<_> = changes.iter().map(|c| (c.kind, c.rv())).collect();
        assert_eq!(replayed, [(ChangeKind::Modified, 3)]);
        store
            .delete(Resource::Events, &key("demo", "a"), None)
            .unwrap();
        store.create(Resource::Events, event("other", "c")).unwrap();
        let Ok(WatchMsg::Change(live)) = sub.rx.try_recv() else {
            panic!("expected a change")
        };
        assert_eq!((live.kind, live.rv()), (ChangeKind::Deleted, 4));
        assert!(
            sub.rx.try_recv().is_err(),
            "other namespaces are filtered out"
        );
    }

    #[test]
    fn watches_older_than_the_history_window_or_a_compaction_expire() {
        let store = Store::new(2);
        for name in ["a", "b", "c", "d"] {
            store.create(Resource::Events, event("demo", name)).unwrap();
        }
        assert_eq!(
            store.watch(Resource::Events, None, Some(1)).unwrap_err(),
            Expired {
                requested: 1,
                oldest: 2
            }
        );
        assert!(store.watch(Resource::Events, None, Some(2)).is_ok());
        store.compact();
        assert!(store.watch(Resource::Events, None, Some(3)).is_err());
        assert!(store.watch(Resource::Events, None, Some(4)).is_ok());
        assert!(store.watch(Resource::Events, None, None).is_ok());
    }

    #[test]
    fn paginated_lists_read_the_snapshot_of_their_first_page() {
        let store = Store::new(100);
        for name in ["a", "b", "c", "d"] {
            store.create(Resource::Events, event("demo", name)).unwrap();
        }
        let first = store
            .list(
                Resource::Events,
                None,
                ReadAt::Latest,
                None,
                Some(2),
                "",
                &all,
            )
            .unwrap();
        assert_eq!(
            (names(&first), first.rv, first.remaining),
            (vec!["a".into(), "b".into()], 4, 2)
        );
        // Changes after the first page must not show in the next ones.
        store
            .delete(Resource::Events, &key("demo", "c"), None)
            .unwrap();
        store.create(Resource::Events, event("demo", "bb")).unwrap();
        store
            .update(Resource::Events, &key("demo", "d"), None, false, |_| {
                Ok(event("demo", "d"))
            })
            .unwrap();
        let next = store
            .list(
                Resource::Events,
                None,
                ReadAt::Continue(4),
                first.next.as_ref(),
                Some(2),
                "",
                &all,
            )
            .unwrap();
        assert_eq!(names(&next), ["c", "d"]);
        assert_eq!(next.items[1].rv, 4, "d as it was at the snapshot");
        assert!(next.next.is_none());
        let latest = store
            .list(Resource::Events, None, ReadAt::Latest, None, None, "", &all)
            .unwrap();
        assert_eq!(names(&latest), ["a", "b", "bb", "d"]);
    }

    #[test]
    fn every_page_of_a_long_list_says_how_many_matching_items_follow_it() {
        let store = Store::new(100);
        for i in 0..10 {
            store
                .create(Resource::Events, event("demo", &format!("e{i}")))
                .unwrap();
        }
        let odd = |s: &Stored| s.key().1.ends_with(['1', '3', '5', '7', '9']);
        for (scope, keep, want) in [
            ("", &all as &dyn Fn(&Stored) -> bool, vec![7, 4, 1, 0]),
            ("odd", &odd, vec![2, 0]),
        ] {
            let (mut at, mut after, mut counts, mut items) = (ReadAt::Latest, None, vec![], 0);
            loop {
                let page = store
                    .list(
                        Resource::Events,
                        None,
                        at,
                        after.as_ref(),
                        Some(3),
                        scope,
                        keep,
                    )
                    .unwrap();
                // Asking for the same page again (a retry) answers the same.
                if let Some(a) = &after {
                    let again = store
                        .list(Resource::Events, None, at, Some(a), Some(3), scope, keep)
                        .unwrap();
                    assert_eq!(
                        (again.remaining, names(&again)),
                        (page.remaining, names(&page))
                    );
                }
                counts.push(page.remaining);
                items += page.items.len();
                at = ReadAt::Continue(page.rv);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            assert_eq!(counts, want, "{scope:?}");
            assert_eq!(items, if scope.is_empty() { 10 } else { 5 });
        }
    }

    #[test]
    fn continue_tokens_expire_after_a_compaction_even_without_writes() {
        let store = Store::new(100);
        store.create(Resource::Events, event("demo", "a")).unwrap();
        store.create(Resource::Events, event("demo", "b")).unwrap();
        let first = store
            .list(
                Resource::Events,
                None,
                ReadAt::Latest,
                None,
                Some(1),
                "",
                &all,
            )
            .unwrap();
        store.compact();
        let next = store.list(
            Resource::Events,
            None,
            ReadAt::Continue(first.rv),
            first.next.as_ref(),
            Some(1),
            "",
            &all,
        );
        assert_eq!(
            next.unwrap_err(),
            Expired {
                requested: 2,
                oldest: 2
            }
        );
        assert!(
            store
                .list(
                    Resource::Events,
                    None,
                    ReadAt::Exact(1),
                    None,
                    None,
                    "",
                    &all
                )
                .is_err()
        );
    }

    #[test]
    fn namespaced_lists_stay_in_their_namespace() {
        let store = Store::new(100);
        for (ns, name) in [("a", "x"), ("b", "x"), ("b", "y"), ("c", "x")] {
            store.create(Resource::Events, event(ns, name)).unwrap();
        }
        let page = store
            .list(
                Resource::Events,
                Some("b"),
                ReadAt::Latest,
                None,
                Some(1),
                "",
                &all,
            )
            .unwrap();
        assert_eq!((names(&page), page.remaining), (vec!["x".to_owned()], 1));
        let rest = store
            .list(
                Resource::Events,
                Some("b"),
                ReadAt::Continue(page.rv),
                page.next.as_ref(),
                Some(1),
                "",
                &all,
            )
            .unwrap();
        assert_eq!(names(&rest), ["y"]);
        assert!(rest.next.is_none());
    }

    #[test]
    fn bookmarks_wait_until_pending_changes_are_taken() {
        let store = Store::new(100);
        let mut sub = store.watch(Resource::Events, None, None).unwrap();
        assert_eq!(store.bookmark_rv(&sub.rx), Some(0));
        store.create(Resource::Events, event("demo", "a")).unwrap();
        assert_eq!(store.bookmark_rv(&sub.rx), None);
        let _ = sub.rx.try_recv();
        assert_eq!(store.bookmark_rv(&sub.rx), Some(1));
    }

    #[test]
    fn updates_check_the_resource_version_precondition() {
        let store = Store::new(100);
        store
            .create(Resource::ConfigMaps, event("demo", "cm"))
            .unwrap();
        let stale = store.update(
            Resource::ConfigMaps,
            &key("demo", "cm"),
            Some(7),
            false,
            |_| Ok(event("demo", "cm")),
        );
        assert_eq!(stale.unwrap_err(), StoreError::Conflict);
        let missing = store.update(Resource::ConfigMaps, &key("demo", "x"), None, false, |_| {
            Ok(event("demo", "x"))
        });
        assert_eq!(missing.unwrap_err(), StoreError::NotFound);
        let renamed = store.update(
            Resource::ConfigMaps,
            &key("demo", "cm"),
            Some(1),
            false,
            |_| Ok(event("demo", "other")),
        );
        assert!(matches!(renamed.unwrap_err(), StoreError::Invalid(_)));
        assert_eq!(
            store
                .delete(Resource::ConfigMaps, &key("demo", "cm"), Some(9))
                .unwrap_err(),
            StoreError::Conflict
        );
    }
}
