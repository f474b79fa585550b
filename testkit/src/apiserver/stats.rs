//! [`SimStats`]: what the simulated API server has been asked and has done.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! stats {
    ($($(#[doc = $doc:literal])* $field:ident,)*) => {
        /// Counters of requests and faults since the server started, from
        /// [`SimCluster::stats`](super::SimCluster::stats).
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct SimStats {
            $($(#[doc = $doc])* pub $field: u64,)*
        }

        /// The live counters behind [`SimStats`].
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $(pub(crate) $field: AtomicU64,)*
        }

        impl Counters {
            pub(crate) fn snapshot(&self) -> SimStats {
                SimStats {
                    $($field: self.$field.load(Ordering::Relaxed),)*
                }
            }
        }
    };
}

stats! {
    /// Every HTTP request received.
    requests,
    /// Lists started (requests without a `continue` token).
    lists,
    /// List pages served, the first page included.
    list_pages,
    /// List requests answered 410 Expired (compacted continue token or resourceVersion).
    list_410s,
    /// List requests answered 504 because their resourceVersion is ahead of the server's.
    list_too_large,
    /// Single-object GETs.
    gets,
    /// Creates, updates, patches and deletes over HTTP.
    writes,
    /// Watch requests.
    watches,
    /// Watches ended by an ERROR 410 (too old resourceVersion or `force_watch_410`).
    watch_410s,
    /// ADDED, MODIFIED and DELETED notifications written to watches.
    watch_events,
    /// BOOKMARKs written to watches.
    bookmarks,
    /// Watch connections cut by `drop_connections`.
    connections_dropped,
    /// Requests answered 503 while `set_unavailable(true)`.
    unavailable_responses,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
