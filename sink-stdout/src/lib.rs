//! Prints events to stdout.
