//! A certificate chain and its private key, loaded from PEM files and
//! checked against each other, and the resolver that serves the current
//! one (swapped atomically on renewal).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why a certificate and key cannot be served; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A file could not be read or is not PEM.
    #[error("TLS: cannot read {what} {path}: {message}")]
    Read {
        /// "certificate chain" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The certificate file holds no certificate.
    #[error("TLS: {0} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate(PathBuf),
    /// The key is of a kind rustls cannot sign with.
    #[error("TLS: the private key in {path} cannot be used: {message}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// rustls's reason.
        message: String,
    },
    /// The key is not the certificate's.
    #[error("TLS: the private key {key} does not belong to the certificate {cert}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

/// A chain and key ready to serve.
pub struct Certificate {
    key: Arc<CertifiedKey>,
}

impl Certificate {
    /// Loads `cert` (the chain, leaf first) and `key`, and checks that the
    /// key is the leaf's.
    pub fn load(cert: &Path, key: &Path) -> Result<Certificate, CertError> {
        let read = |what, path: &Path, e: &dyn std::fmt::Display| CertError::Read {
            what,
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| read("certificate chain", cert, &e))?;
        if chain.is_empty() {
            return Err(CertError::NoCertificate(cert.to_path_buf()));
        }
        let private =
            PrivateKeyDer::from_pem_file(key).map_err(|e| read("private key", key, &e))?;
        let provider = rustls::crypto::ring::default_provider();
        let certified = CertifiedKey::from_der(chain, private, &provider).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => CertError::Mismatch {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            },
            other => CertError::Key {
                path: key.to_path_buf(),
                message: other.to_string(),
            },
        })?;
        Ok(Certificate {
            key: Arc::new(certified),
        })
    }

    /// For logs: the chain's length and the leaf's size.
    pub fn summary(&self) -> String {
        format!(
            "a chain of {}, leaf {} bytes",
            self.key.cert.len(),
            self.key.cert.first().map_or(0, |c| c.len())
        )
    }
}

/// Serves the current certificate to every new handshake.
#[derive(Debug)]
pub struct SwappableCert {
    current: ArcSwap<CertifiedKey>,
}

impl SwappableCert {
    /// Serving `cert`.
    pub fn new(cert: Certificate) -> Arc<SwappableCert> {
        Arc::new(SwappableCert {
            current: ArcSwap::new(cert.key),
        })
    }

    /// Serves `cert` from the next handshake on.
    pub fn replace(&self, cert: Certificate) {
        self.current.store(cert.key);
    }
}

impl ResolvesServerCert for SwappableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}
