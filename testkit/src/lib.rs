//! Test infrastructure with real protocols.
