//! Which subject alternative names a server certificate must carry.

use rustls::{CertificateError, Error};
use rustls_pki_types::{CertificateDer, ServerName};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The accepted SANs of a server: exact URI SANs (SPIFFE IDs) and DNS SANs (a `*.`
/// wildcard in the certificate matches one label). The server is accepted when it has
/// *any* accepted SAN. With both lists empty any SAN is accepted, unless
/// [`SanPolicy::host_name`] asks for the classic host-name check.
#[derive(Debug, Clone, Default)]
pub struct SanPolicy {
    uris: Vec<String>,
    dns: Vec<String>,
    host_name: bool,
}

impl SanPolicy {
    /// Any SAN (chain verification only).
    pub fn any() -> Self {
        Self::default()
    }

    /// One of these URI SANs (SPIFFE IDs); empty = any.
    pub fn uris(uris: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { uris: uris.into_iter().map(Into::into).collect(), ..Self::default() }
    }

    /// One of these DNS SANs; empty = any.
    pub fn dns(names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { dns: names.into_iter().map(|n| n.into().to_ascii_lowercase()).collect(), ..Self::default() }
    }

    /// Also accepts these DNS SANs.
    #[must_use]
    pub fn or_dns(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.dns.extend(names.into_iter().map(|n| n.into().to_ascii_lowercase()));
        self
    }

    /// The server's certificate must be valid for the name the client connects to
    /// (SNI), as a browser checks. Used for SIMPLE/MUTUAL without `subjectAltNames`.
    pub fn host_name() -> Self {
        Self { host_name: true, ..Self::default() }
    }

    /// Whether no SAN restriction applies.
    pub fn is_any(&self) -> bool {
        self.uris.is_empty() && self.dns.is_empty() && !self.host_name
    }

    pub(super) fn check(&self, end_entity: &CertificateDer<'_>, server_name: &ServerName<'_>) -> Result<(), Error> {
        if self.host_name {
            let cert = webpki::EndEntityCert::try_from(end_entity)
                .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
            return cert
                .verify_is_valid_for_subject_name(server_name)
                .map_err(|_| Error::InvalidCertificate(CertificateError::NotValidForName));
        }
        if self.uris.is_empty() && self.dns.is_empty() {
            return Ok(());
        }
        let (_, cert) = X509Certificate::from_der(end_entity.as_ref())
            .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let names = match cert.subject_alternative_name() {
            Ok(Some(san)) => san.value.general_names.clone(),
            _ => Vec::new(),
        };
        let hit = names.iter().any(|n| match n {
            GeneralName::URI(u) => self.uris.iter().any(|want| want == u),
            GeneralName::DNSName(d) => self.dns.iter().any(|want| dns_matches(&d.to_ascii_lowercase(), want)),
            _ => false,
        });
        if hit {
            Ok(())
        } else {
            tracing::debug!(expected_uris = ?self.uris, expected_dns = ?self.dns, "peer certificate SAN mismatch");
            Err(Error::InvalidCertificate(CertificateError::NotValidForName))
        }
    }
}

fn dns_matches(presented: &str, wanted: &str) -> bool {
    if presented == wanted {
        return true;
    }
    match presented.strip_prefix("*.") {
        Some(suffix) => wanted.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::dns_matches;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(dns_matches("*.example.com", "a.example.com"));
        assert!(!dns_matches("*.example.com", "a.b.example.com"));
        assert!(!dns_matches("*.example.com", "example.com"));
        assert!(dns_matches("a.example.com", "a.example.com"));
    }
}
