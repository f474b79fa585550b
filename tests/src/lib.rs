//! End-to-end tests against real parts; see `tests/`.
