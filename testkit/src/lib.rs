//! Test infrastructure with real protocols.

pub mod apiserver;
pub mod cloudwatch;
pub mod http;
pub mod http_fault;
pub mod incident;
pub mod moto;
pub mod otlp;
pub mod prometheus;
mod serve;
pub mod webhook;

pub use apiserver::{
    ApiGroup, EventRef, NewEvent, Refusal, SimCluster, SimConfig, SimError, SimStats,
};
