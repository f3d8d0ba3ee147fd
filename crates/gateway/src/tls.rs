//! TLS to `https://` upstreams: the rustls client configuration (ring provider) of each
//! upstream's connection pool.
//!
//! Trust, in order: the system's root certificates (`/etc/ssl/certs` and friends, read with
//! rustls-native-certs) plus, when the upstream names one, a PEM file of extra roots (`ca`: a
//! private CA). The certificate must carry the name in the URL, or `server_name` when that is
//! set: Plex's "Secure connections" certificates are issued by a public CA for
//! `<ip-with-dashes>.<hash>.plex.direct`, so cachearr connects to the LAN address and checks the
//! certificate against that name. Nothing here turns verification off.

use std::path::Path;
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

/// Reads the root certificates of a PEM file.
///
/// # Errors
/// A message when the file cannot be read or holds no certificate.
pub fn read_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not a PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{}: no certificate in it (expected -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

/// Checks a `server_name` value: a DNS name the certificate must carry.
///
/// # Errors
/// A message when it is not a DNS name or IP address.
pub fn check_server_name(name: &str) -> Result<(), String> {
    ServerName::try_from(name.to_string())
        .map(|_| ())
        .map_err(|_| format!("{name:?} is not a host name"))
}

/// The rustls client configuration of one upstream: system roots, plus its `ca` file.
///
/// # Errors
/// A message when the `ca` file is unusable, or there is no root at all to trust.
pub fn client_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    // A system store with a few unreadable entries still has the others.
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if let Some(path) = &tls.ca_file {
        for cert in read_roots(path)? {
            roots
                .add(cert)
                .map_err(|e| format!("{}: unusable root certificate: {e}", path.display()))?;
        }
    }
    if roots.is_empty() {
        return Err(format!(
            "no root certificate to check the server's against: the system has none ({} \
             found; install ca-certificates) and no `ca` file is configured",
            added
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The `ServerName` to check certificates against when it is not the URL's host.
///
/// # Errors
/// A message when `name` is not a host name.
pub fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(name.to_string()).map_err(|_| format!("{name:?} is not a host name"))
}
