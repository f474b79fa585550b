//! [`Shared`]: the state the cluster handle and the request handlers both hold.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, PoisonError};

use super::config::SimConfig;
use super::refusal::Refusal;
use super::resource::ResourceDef;
use super::stats::Counters;
use super::store::Store;

/// State shared by the cluster handle and the request handlers.
pub(crate) struct Shared {
    pub store: Store,
    pub config: SimConfig,
    pub served: Vec<ResourceDef>,
    pub stats: Counters,
    pub unavailable: AtomicBool,
    pub refusal: Mutex<Option<Refusal>>,
    pub addr: SocketAddr,
}

impl Shared {
    /// How requests are refused now, if they are.
    pub fn refusal(&self) -> Option<Refusal> {
        *self.refusal.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
