//! TLS to PostgreSQL, when the URL says `sslmode=require`: rustls (already the exchange
//! client's TLS), the server's certificate verified against Mozilla's roots, plus the
//! PEM certificates of `RETRAIN_DATABASE_CA` for a server signed by a private CA (as
//! hosted databases often are). There is no unverified TLS: a certificate that does not
//! verify is an error, not a silent downgrade.

use anyhow::Context;
use rustls_pki_types::pem::PemObject;

use crate::env_vars::RETRAIN_DATABASE_CA;

pub fn connector() -> anyhow::Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = std::env::var_os(RETRAIN_DATABASE_CA).filter(|p| !p.is_empty()) {
        let shown = std::path::Path::new(&path).display().to_string();
        let pem = std::fs::read(&path).with_context(|| format!("reading {RETRAIN_DATABASE_CA}={shown}"))?;
        let mut found = 0;
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| anyhow::anyhow!("{RETRAIN_DATABASE_CA}={shown}: {e}"))?;
            roots.add(cert).with_context(|| format!("{RETRAIN_DATABASE_CA}={shown}: a certificate"))?;
            found += 1;
        }
        anyhow::ensure!(found > 0, "{RETRAIN_DATABASE_CA}={shown} holds no PEM certificate");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}
