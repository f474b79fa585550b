//! sink-file.
