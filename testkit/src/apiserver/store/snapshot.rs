//! Reading a page of a list at a resourceVersion, undoing later changes from the history.
//!
//! A page says how many items follow it (`remainingItemCount`). Counting them anew for every
//! page would make a paginated list of n objects cost n²/limit; the count after a page is
//! instead remembered (see [`Tally`]), and the next page, which starts there, takes its items and
//! subtracts them.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use super::{Expired, Store, in_namespace};
use crate::apiserver::object::{Key, Stored};
use crate::apiserver::resource::Resource;

/// Which state a list reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadAt {
    Latest,
    /// `resourceVersionMatch=Exact`.
    Exact(u64),
    /// The snapshot of a continue token; tokens also expire on `compact()`.
    Continue(u64),
}

/// One page of a list.
#[derive(Debug)]
pub(crate) struct Page {
    pub items: Vec<Arc<Stored>>,
    pub rv: u64,
    /// The last key of this page when more items follow.
    pub next: Option<Key>,
    pub remaining: usize,
}

/// Where one list page ended: the list (resource, namespace, filter, snapshot) and its last key.
#[derive(Debug, PartialEq, Eq)]
struct Place {
    resource: Resource,
    namespace: Option<String>,
    scope: String,
    rv: u64,
    last: Key,
}

/// The matching items that followed the last few pages served. A snapshot never changes (reads
/// of a compacted one are refused before this is asked), so a count stays true until it is
/// dropped for newer ones.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    recent: VecDeque<(Place, usize)>,
}

/// How many places [`Tally`] keeps: enough for several lists paginating at once.
const TALLY_PLACES: usize = 64;

impl Tally {
    fn get(&self, place: &Place) -> Option<usize> {
        self.recent
            .iter()
            .find_map(|(p, n)| (p == place).then_some(*n))
    }

    fn put(&mut self, place: Place, remaining: usize) {
        if self.get(&place).is_some() {
            return;
        }
        if self.recent.len() >= TALLY_PLACES {
            self.recent.pop_front();
        }
        self.recent.push_back((place, remaining));
    }
}

impl Store {
    /// Reads one page of `resource` after `after`, at `at`, keeping objects that pass `keep`;
    /// `scope` names that filter (the same string for the same filter).
    #[allow(clippy::too_many_arguments)] // One read with all its parameters, as the API has it.
    pub(crate) fn list(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        at: ReadAt,
        after: Option<&Key>,
        limit: Option<usize>,
        scope: &str,
        keep: &dyn Fn(&Stored) -> bool,
    ) -> Result<Page, Expired> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let rv = match at {
            ReadAt::Latest => inner.rv,
            ReadAt::Exact(rv) if rv >= inner.compacted => rv.min(inner.rv),
            ReadAt::Continue(rv) if rv >= inner.compacted && rv > inner.continue_floor => rv,
            ReadAt::Exact(requested) | ReadAt::Continue(requested) => {
                return Err(Expired {
                    requested,
                    oldest: inner.compacted,
                });
            }
        };
        let past = |k: &Key| after.is_none_or(|a| k > a) && in_namespace(k, namespace);
        // Undo the changes made after `rv`: the earliest change per key says what it was then.
        let mut overrides: BTreeMap<Key, Option<Arc<Stored>>> = BTreeMap::new();
        for change in inner.history.iter().rev().take_while(|c| c.rv() > rv) {
            let key = change.object.key();
            if change.object.resource == resource && past(&key) {
                overrides.insert(key, change.prev.clone());
            }
        }
        let empty = BTreeMap::new();
        let map = inner.objects.get(&resource).unwrap_or(&empty);
        let lower = match (after, namespace) {
            (Some(a), None) => Bound::Excluded(a.clone()),
            (Some(a), Some(ns)) if a.0 == ns => Bound::Excluded(a.clone()),
            (_, Some(ns)) => Bound::Included(Key(ns.to_owned(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        let mut current = map
            .range((lower, Bound::Unbounded))
            .take_while(|(k, _)| in_namespace(k, namespace))
            .peekable();
        let mut overrides = overrides.into_iter().peekable();
        let limit = limit.unwrap_or(usize::MAX);
        let place = |last: &Key| Place {
            resource,
            namespace: namespace.map(str::to_owned),
            scope: scope.to_owned(),
            rv,
            last: last.clone(),
        };
        // How many match after `after`, when a page that ended there was counted.
        let known = after.and_then(|a| inner.tally.get(&place(a)));
        let mut page = Page {
            items: Vec::new(),
            rv,
            next: None,
            remaining: 0,
        };
        loop {
            let (key, object): (Cow<'_, Key>, Option<Arc<Stored>>) =
                match (current.peek(), overrides.peek()) {
                    (None, None) => break,
                    (Some((ck, _)), Some((ok, _))) if *ck >= ok => {
                        if *ck == ok {
                            current.next();
                        }
                        let Some((k, o)) = overrides.next() else {
                            break;
                        };
                        (Cow::Owned(k), o)
                    }
                    (Some(_), _) => {
                        let Some((k, s)) = current.next() else { break };
                        (Cow::Borrowed(k), Some(s.clone()))
                    }
                    (None, Some(_)) => {
                        let Some((k, o)) = overrides.next() else {
                            break;
                        };
                        (Cow::Owned(k), o)
                    }
                };
            let Some(object) = object.filter(|o| keep(o)) else {
                continue;
            };
            if page.items.len() < limit {
                page.items.push(object);
                page.next = Some(key.into_owned());
            } else if let Some(known) = known {
                page.remaining = known.saturating_sub(page.items.len());
                break;
            } else {
                page.remaining += 1;
            }
        }
        match &page.next {
            Some(last) if page.remaining > 0 => inner.tally.put(place(last), page.remaining),
            _ => page.next = None,
        }
        Ok(page)
    }
}
