//! CloudWatch Logs test infrastructure: an SDK [`client`] for local endpoints, helpers to
//! [set up](ensure_stream) and [read back](read_stream) log streams, and [`StrictProxy`], which stands between the client and moto to enforce the real
//! PutLogEvents limits and inject faults.
//!
//! moto stores what it is given: over 10,000 events, over 1 MiB, over 24 hours in one
//! call. A sink tested against moto alone could break every limit of the real service and
//! pass. Through the proxy, such a call fails as it would on AWS
//! (`InvalidParameterException`) and is recorded as a [`Violation`]; events the service
//! would drop (too new, too old, expired) are dropped and reported in
//! `rejectedLogEventsInfo`. The figures are in [`limits`](Limits) with their sources.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use testkit::cloudwatch::{Fault, StrictProxy, client};
//! use testkit::moto::Moto;
//!
//! let moto = Moto::start().await?;
//! let proxy = StrictProxy::start(&moto.endpoint()).await?;
//! let logs = client(&proxy.endpoint()).await;
//! proxy.inject(Fault::ServerError(503), 2);
//! // ... run the sink against `logs` ...
//! assert!(proxy.violations().is_empty(), "{:?}", proxy.violations());
//! # Ok(())
//! # }
//! ```

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod client;
mod fault;
mod fixtures;
mod handler;
mod limits;
mod proxy;
mod stats;
pub(crate) mod upstream;
mod violation;
mod wire;

pub use client::{TEST_REGION, client, config};
pub use fault::{DEFAULT_FAULT_OPERATION, Fault};
pub use fixtures::{ensure_stream, read_stream};
pub use limits::{
    EVENT_OVERHEAD_BYTES, LEGACY_MAX_EVENT_BYTES, Limits, MAX_AGE, MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS, MAX_BATCH_SPAN, MAX_EVENT_BYTES, MAX_FUTURE,
};
pub use proxy::StrictProxy;
pub use stats::ProxyStats;
pub use violation::{Rule, Violation};
