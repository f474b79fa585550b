//! Test infrastructure with real protocols.

pub mod apiserver;
pub mod cloudwatch;
pub mod incident;
pub mod moto;

pub use apiserver::{ApiGroup, EventRef, NewEvent, SimCluster, SimConfig, SimError, SimStats};
