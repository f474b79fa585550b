//! [`WatchError`]: what went wrong while watching.

use super::lenient::DecodeError;
use crate::NormalizeError;

/// What went wrong while watching. The stream keeps going after each (with backoff) unless the
/// consumer stops; the error is yielded so it can be logged and counted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// Asking the API server which Events APIs it serves failed.
    #[error(
        "could not discover the Events APIs of the cluster: {source}; check the API server address and credentials"
    )]
    Discovery {
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The watch of one scope failed; it is retried with backoff.
    #[error("watching {scope} failed, retrying with backoff: {source}{hint}")]
    Watch {
        /// The scope, e.g. `events@payments`.
        scope: String,
        /// What to do about it, when known (e.g. missing RBAC).
        hint: &'static str,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The API server sent an object that is not a usable event; it is skipped.
    #[error("skipped a malformed object from {scope}: {source}")]
    Malformed {
        /// The scope it came from.
        scope: String,
        /// Why it is unusable.
        #[source]
        source: NormalizeError,
    },
    /// The API server sent an object that does not decode as its kind (a time past what
    /// k8s-openapi holds, a field of the wrong JSON type); it is skipped and counted as malformed,
    /// and the list or watch it came in goes on.
    #[error(
        "skipped an object from {scope} that does not decode: {source}; it is not exported, the watch goes on"
    )]
    Undecodable {
        /// The scope it came from.
        scope: String,
        /// The object, the field and the decoder's error.
        #[source]
        source: DecodeError,
    },
}
