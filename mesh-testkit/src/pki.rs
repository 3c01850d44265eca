//! A throw-away PKI for tests: a root (or several) that issues SPIFFE workload
//! certificates with any validity window, including expired and not-yet-valid ones.
//! Production certificates come from `mesh_tls::ca`; this exists so that tests can make
//! certificates the real CA would refuse to make.

use std::time::{Duration, SystemTime};

use mesh_tls::identity::{TrustBundle, WorkloadCertificate};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use time::OffsetDateTime;

/// A test root CA.
#[derive(Debug)]
pub struct TestCa {
    root_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn odt(t: SystemTime) -> OffsetDateTime {
    OffsetDateTime::from(t)
}

/// A PEM chain and key, as files hold them.
#[derive(Debug, Clone)]
pub struct PemPair {
    /// Leaf first, then the root.
    pub chain: String,
    /// PKCS#8 private key.
    pub key: String,
}

impl PemPair {
    /// Parsed into a [`WorkloadCertificate`].
    pub fn parse(&self) -> WorkloadCertificate {
        WorkloadCertificate::from_pem(&self.chain, &self.key).expect("test certificate parses")
    }
}

impl TestCa {
    /// A new self-signed root named `name`.
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("key generation");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.distinguished_name.push(DnType::OrganizationName, "cluster.local");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = odt(SystemTime::now() - Duration::from_secs(3600));
        params.not_after = odt(SystemTime::now() + Duration::from_secs(10 * 365 * 86400));
        let root = params.self_signed(&key).expect("self-signed root");
        Self { root_pem: root.pem(), issuer: Issuer::new(params, key) }
    }

    /// The root certificate, PEM.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// A trust bundle holding this root.
    pub fn bundle(&self) -> TrustBundle {
        TrustBundle::from_pem(&self.root_pem).expect("root parses")
    }

    /// A certificate for `spiffe_id` valid for the next hour.
    pub fn issue(&self, spiffe_id: &str) -> WorkloadCertificate {
        self.issue_pem(
            spiffe_id,
            SystemTime::now() - Duration::from_secs(60),
            SystemTime::now() + Duration::from_secs(3600),
        )
        .parse()
    }

    /// A certificate for `spiffe_id` valid from `not_before` to `not_after`, as PEM.
    pub fn issue_pem(&self, spiffe_id: &str, not_before: SystemTime, not_after: SystemTime) -> PemPair {
        let key = KeyPair::generate().expect("key generation");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        // The SPIFFE ID, plus names for clients that check host names (tests and benches
        // compare with plain rustls).
        params.subject_alt_names = vec![
            SanType::URI(spiffe_id.try_into().expect("URI SAN")),
            SanType::DnsName("localhost".try_into().expect("DNS SAN")),
            SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])),
        ];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = odt(not_before);
        params.not_after = odt(not_after);
        params.use_authority_key_identifier_extension = true;
        let leaf = params.signed_by(&key, &self.issuer).expect("signing");
        PemPair { chain: format!("{}{}", leaf.pem(), self.root_pem), key: key.serialize_pem() }
    }
}
