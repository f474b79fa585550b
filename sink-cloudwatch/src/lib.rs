//! sink-cloudwatch.
