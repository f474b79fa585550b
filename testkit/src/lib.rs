//! Test infrastructure with real protocols.

pub mod apiserver;
pub mod incident;

pub use apiserver::{ApiGroup, EventRef, NewEvent, SimCluster, SimConfig, SimError, SimStats};
