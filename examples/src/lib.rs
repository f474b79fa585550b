//! Runnable examples (see the `[[example]]` entries in Cargo.toml) and the application logic of
//! the `eks_to_cloudwatch` binary, in [`exporter`], so that the binary stays thin and the logic
//! is tested, and of the `event_history` binary, in [`history`].
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod exporter;
pub mod history;
