//! The rustls client settings: the platform's roots plus an optional CA bundle.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::{ClientConfig, RootCertStore};

use crate::HttpConfigError;

/// The TLS settings for `ca_file` (if any) on top of the platform's roots.
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<ClientConfig, HttpConfigError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!(%error, "a platform CA certificate could not be loaded");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "platform CA certificates");
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|source| HttpConfigError::CaFile {
            path: path.to_owned(),
            source,
        })?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| HttpConfigError::CaCertificates {
                path: path.to_owned(),
                reason: error.to_string(),
            })?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(HttpConfigError::CaCertificates {
                path: path.to_owned(),
                reason: "no certificate in it".into(),
            });
        }
    }
    if roots.is_empty() {
        // Plain `http://` endpoints (a collector in the cluster) still work; `https://` ones
        // fail on the first request with a certificate error.
        tracing::warn!("no trusted TLS root certificates: set `ca_file` to reach https endpoints");
    }
    let builder = ClientConfig::builder_with_provider(provider()?)
        .with_safe_default_protocol_versions()
        .map_err(HttpConfigError::Tls)?;
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

#[cfg(feature = "aws-lc-rs")]
fn provider() -> Result<Arc<rustls::crypto::CryptoProvider>, HttpConfigError> {
    Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

#[cfg(not(feature = "aws-lc-rs"))]
fn provider() -> Result<Arc<rustls::crypto::CryptoProvider>, HttpConfigError> {
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .ok_or(HttpConfigError::NoCryptoProvider)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = client_config(Some(&path)).unwrap_err();
        assert!(
            matches!(error, HttpConfigError::CaCertificates { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("ca.pem"), "{error}");
    }

    #[test]
    fn a_missing_ca_file_is_refused_with_its_path() {
        let error = client_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(matches!(error, HttpConfigError::CaFile { .. }), "{error}");
    }
}
