//! [`HttpConfigError`]: why an [`HttpClient`](crate::HttpClient) could not be built.

use std::path::PathBuf;

/// Why an [`HttpClient`](crate::HttpClient) could not be built from its
/// [`HttpOptions`](crate::HttpOptions). Each message names the setting to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpConfigError {
    /// The CA bundle file could not be read.
    #[error("could not read the CA bundle {path}: check the `ca_file` setting")]
    CaFile {
        /// The file named by the options.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The CA bundle file holds no usable PEM certificate.
    #[error("the CA bundle {path} holds no usable PEM certificate: {reason}")]
    CaCertificates {
        /// The file named by the options.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// rustls has no crypto provider.
    #[error(
        "no TLS crypto provider: enable sink-http's `aws-lc-rs` feature or install a rustls CryptoProvider"
    )]
    NoCryptoProvider,
    /// rustls refused the TLS settings.
    #[error("the TLS settings were refused")]
    Tls(#[source] rustls::Error),
    /// A header's name is not a valid HTTP header name.
    #[error("header name {name:?} is not a valid HTTP header name")]
    HeaderName {
        /// The name as configured.
        name: String,
    },
    /// A header's value could not be read from its file.
    #[error("could not read the value of header {name:?} from {path}")]
    HeaderFile {
        /// The header's name.
        name: String,
        /// The file named for its value.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A header's environment variable is not set (or not Unicode).
    #[error("environment variable {var} for header {name:?} is not set")]
    HeaderEnv {
        /// The header's name.
        name: String,
        /// The variable named for its value.
        var: String,
    },
    /// A header's value holds characters HTTP does not allow (the value itself is not shown).
    #[error(
        "the value of header {name:?} holds characters not allowed in HTTP headers (control characters or line breaks)"
    )]
    HeaderValue {
        /// The header's name.
        name: String,
    },
}
