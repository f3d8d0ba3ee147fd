//! TLS to `https://` upstreams: the rustls client configuration (ring provider) of each
//! upstream's connection pool.
//!
//! Trust, in order: the system's root certificates (`/etc/ssl/certs` and friends, read with
//! rustls-native-certs) plus, when the upstream names one, a PEM file of extra roots (`ca`: a
//! private CA). The certificate must carry the name in the URL, or `server_name` when that is
//! set: Plex's "Secure connections" certificates are issued by a public CA for
//! `<ip-with-dashes>.<hash>.plex.direct`, so cachearr connects to the LAN address and checks the
//! certificate against that name. Nothing here turns verification off.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};

/// Certificate checks of an `https://` upstream. By default the system's root certificates
/// (and, where the system has none, the Mozilla roots built in) must vouch for the name in the
/// URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM file with extra root certificate(s) to trust: a private CA that signed the server's
    /// certificate (`ca = "/config/my-ca.pem"`).
    pub ca_file: Option<std::path::PathBuf>,
    /// The name the certificate must carry when it differs from the host in the URL: Plex's
    /// `*.plex.direct` certificates name `1-2-3-4.HASH.plex.direct`, not the LAN address cachearr
    /// connects to (`server_name = "192-168-1-10.0123abcd.plex.direct"`).
    pub server_name: Option<String>,
}

/// Why an upstream's TLS settings cannot be used. Each says what to fix; none is retryable
/// (they are configuration).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The `ca` file cannot be read.
    #[error("cannot read {}", path.display())]
    ReadCa {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `ca` file is not PEM.
    #[error("{}: not a PEM certificate file", path.display())]
    NotPem {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said.
        source: rustls::pki_types::pem::Error,
    },
    /// The `ca` file holds no certificate.
    #[error("{}: no certificate in it (expected -----BEGIN CERTIFICATE-----)", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A certificate of the `ca` file cannot be a root.
    #[error("{}: unusable root certificate", path.display())]
    UnusableRoot {
        /// The file.
        path: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
    /// Neither the system nor a `ca` file gives a root to trust.
    #[error(
        "no root certificate to check the server's against: the system has none ({found} \
         found; install ca-certificates) and no `ca` file is configured"
    )]
    NoRoots {
        /// System certificates found (none of them usable).
        found: usize,
    },
    /// `server_name` is not a DNS name or IP address.
    #[error("{0:?} is not a host name")]
    NotAHostName(String),
    /// rustls refused the protocol set-up.
    #[error("TLS set-up: {0}")]
    Setup(rustls::Error),
}

/// Reads the root certificates of a PEM file.
///
/// # Errors
/// [`TlsError::ReadCa`], [`TlsError::NotPem`] or [`TlsError::NoCertificate`].
pub fn read_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::ReadCa {
        path: path.to_owned(),
        source,
    })?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::NotPem {
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// Checks a `server_name` value: a DNS name the certificate must carry.
///
/// # Errors
/// [`TlsError::NotAHostName`].
pub fn check_server_name(name: &str) -> Result<(), TlsError> {
    server_name(name).map(|_| ())
}

/// The rustls client configuration of one upstream: system roots, plus its `ca` file.
///
/// # Errors
/// A [`TlsError`] when the `ca` file is unusable, or there is no root at all to trust.
pub fn client_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = RootCertStore::empty();
    // A system store with a few unreadable entries still has the others.
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if let Some(path) = &tls.ca_file {
        for cert in read_roots(path)? {
            roots.add(cert).map_err(|source| TlsError::UnusableRoot {
                path: path.clone(),
                source,
            })?;
        }
    }
    if roots.is_empty() {
        return Err(TlsError::NoRoots { found: added });
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The `ServerName` to check certificates against when it is not the URL's host.
///
/// # Errors
/// [`TlsError::NotAHostName`].
pub fn server_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(name.to_string()).map_err(|_| TlsError::NotAHostName(name.to_owned()))
}
