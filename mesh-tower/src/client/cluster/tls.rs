//! A cluster's `UpstreamTls` → the rustls configuration its endpoint connections use.
//!
//! Mesh mTLS (`ISTIO_MUTUAL`: identity and roots from certificate provider instances)
//! uses the process's [`IdentityStore`](mesh_tls::identity::IdentityStore) for that
//! instance — hot-swapped, so rotation needs no rebuild — and checks the server's
//! SPIFFE ID against the SANs the control plane listed. `SIMPLE`/`MUTUAL` read their PEM
//! files when the configuration is installed. What cannot be built (an instance the
//! process does not have, an unreadable file) fails the cluster's connections with that
//! reason — never a silent fallback to plaintext.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use mesh_core::cluster::{CertSource, SanMatch, UpstreamTls};
use mesh_tls::identity::{CertificateProviders, IdentityStore, TrustBundle, WorkloadCertificate};
use mesh_tls::verify::{AlpnProtocols, SanPolicy, client_config, external_client_config};
use rustls::pki_types::ServerName;

use crate::client::endpoint::TlsConnect;

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

fn sans(list: &[SanMatch]) -> SanPolicy {
    let uris: Vec<&str> =
        list.iter().filter_map(|s| if let SanMatch::Uri(u) = s { Some(u.as_str()) } else { None }).collect();
    let dns: Vec<&str> =
        list.iter().filter_map(|s| if let SanMatch::Dns(d) = s { Some(d.as_str()) } else { None }).collect();
    match (uris.is_empty(), dns.is_empty()) {
        (true, true) => SanPolicy::any(),
        (false, true) => SanPolicy::uris(uris),
        (true, false) => SanPolicy::dns(dns),
        // Envoy accepts a certificate matching any listed SAN of any type.
        (false, false) => SanPolicy::uris(uris).or_dns(dns),
    }
}

fn provider<'a>(providers: &'a CertificateProviders, source: &CertSource) -> Result<&'a Arc<IdentityStore>, String> {
    match source {
        CertSource::Provider { instance, .. } => providers.get(instance).ok_or_else(|| {
            format!("certificate provider instance {instance:?} is not configured in this process (bootstrap certificate_providers)")
        }),
        CertSource::Files { .. } => Err("expected a certificate provider".into()),
    }
}

fn config(tls: &UpstreamTls, providers: &CertificateProviders) -> Result<Arc<rustls::ClientConfig>, String> {
    if tls.is_mesh() {
        let (Some(identity), Some(roots)) = (&tls.identity, &tls.roots) else {
            return Err("mesh TLS needs an identity and roots".into());
        };
        let store = provider(providers, identity)?;
        let roots_store = provider(providers, roots)?;
        if !Arc::ptr_eq(store, roots_store) {
            return Err("identity and roots must come from the same certificate provider instance".into());
        }
        return Ok(client_config(store, sans(&tls.sans), AlpnProtocols::Http));
    }
    let roots = match &tls.roots {
        None => None,
        Some(CertSource::Files { certificate, .. }) => {
            Some(TrustBundle::from_pem(&read(certificate)?).map_err(|e| format!("{certificate}: {e}"))?)
        }
        Some(source @ CertSource::Provider { .. }) => Some((*provider(providers, source)?.trust_bundle()).clone()),
    };
    let identity = match &tls.identity {
        None => None,
        Some(CertSource::Files { certificate, key }) => {
            let key = key.as_deref().ok_or("a client certificate needs its key")?;
            Some(
                WorkloadCertificate::from_pem(&read(certificate)?, &read(key)?)
                    .map_err(|e| format!("{certificate}: {e}"))?,
            )
        }
        Some(source @ CertSource::Provider { .. }) => Some(
            (*provider(providers, source)?.usable_certificate().ok_or("the provider has no valid certificate")?)
                .clone(),
        ),
    };
    let policy = if tls.sans.is_empty() && roots.is_some() && tls.sni.is_some() {
        SanPolicy::host_name()
    } else {
        sans(&tls.sans)
    };
    Ok(external_client_config(roots, identity, policy, AlpnProtocols::Http))
}

/// TLS settings already turned into configurations, kept across configuration
/// changes so that an unchanged cluster keeps its connections (they are pooled by
/// settings key).
#[derive(Debug, Default)]
pub(crate) struct TlsCache {
    built: Mutex<HashMap<u64, TlsConnect>>,
}

impl TlsCache {
    /// The connection settings for a cluster with `tls`.
    pub(crate) fn get(&self, tls: &UpstreamTls, providers: &CertificateProviders) -> TlsConnect {
        let mut h = DefaultHasher::new();
        tls.hash(&mut h);
        for source in [&tls.identity, &tls.roots].into_iter().flatten() {
            if let CertSource::Provider { instance, .. } = source {
                providers.get(instance).map(|s| Arc::as_ptr(s) as usize).hash(&mut h);
            }
        }
        let key = h.finish();
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = built.get(&key) {
            return t.clone();
        }
        let config = config(tls, providers).map_err(|e| {
            tracing::warn!(error = %e, "cluster TLS settings unusable; its connections will fail");
            Arc::<str>::from(e)
        });
        let connect = TlsConnect {
            config,
            server_name: tls.sni.as_deref().and_then(|s| ServerName::try_from(s.to_string()).ok()),
            key,
        };
        built.insert(key, connect.clone());
        connect
    }

    /// Forgets every built configuration (certificate providers changed).
    pub(crate) fn clear(&self) {
        self.built.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}
