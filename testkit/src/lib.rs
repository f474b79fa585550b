//! Test infrastructure with real protocols.

pub mod apiserver;
pub mod cloudwatch;
pub mod http;
pub mod incident;
pub mod moto;
pub mod prometheus;

pub use apiserver::{
    ApiGroup, EventRef, NewEvent, Refusal, SimCluster, SimConfig, SimError, SimStats,
};
