//! Not part of the API: the source's one-pass watch decode, reached by the decode benches, the
//! recorded real-cluster test and the fuzz targets, which measure and check exactly that step.
//! It may change in any release.

pub use crate::source::{CoreV1Event, EventsV1Event, Lenient, LenientDecode};
