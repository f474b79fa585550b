//! Reading events back from a log group: [`CloudWatchHistory`], and the [`ReadError`] it
//! yields.

use event_core::BoxError;

use crate::error::{Failure, FailureKind};

mod history;
mod slices;

pub use history::{
    CloudWatchHistory, DEFAULT_FOLLOW_OVERLAP, DEFAULT_READ_CONCURRENCY, MAX_FILTER_PATTERN_CHARS,
    history_client,
};

/// Why events could not be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The log group does not exist (or not in this region or account).
    #[error("log group {group} does not exist; check its name, the region and the account")]
    GroupNotFound {
        /// The log group.
        group: String,
    },
    /// A FilterLogEvents request failed; reading stopped.
    #[error("reading the log group failed: {message}")]
    Request {
        /// What failed and what to do.
        message: String,
        /// Whether trying again later may work (throttling, a timeout, a 5xx).
        retryable: bool,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
    /// A log event is not an Event Keeper record; reading goes on with the next one.
    #[error("log event {event_id} in stream {log_stream} is not an event record: {source}")]
    Parse {
        /// The stream it is in.
        log_stream: String,
        /// Its CloudWatch event id.
        event_id: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl ReadError {
    /// Whether reading again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ReadError::Request {
                retryable: true,
                ..
            }
        )
    }

    fn from_failure(group: &str, failure: Failure) -> Self {
        match failure.kind {
            FailureKind::NotFound => ReadError::GroupNotFound {
                group: group.to_owned(),
            },
            kind => {
                let retryable = matches!(
                    kind,
                    FailureKind::Throttled
                        | FailureKind::ServerError
                        | FailureKind::Uncertain
                        | FailureKind::CredentialsUnavailable
                );
                let message = match kind {
                    FailureKind::AccessDenied => format!(
                        "{failure}: grant logs:FilterLogEvents on {group} to this principal"
                    ),
                    _ => failure.to_string(),
                };
                ReadError::Request {
                    message,
                    retryable,
                    source: Box::new(failure),
                }
            }
        }
    }
}
