//! [`CertificateAuthority`]: the signing certificate and key, the chain above it, the trust
//! bundle, and the lifetime policy; how one is made (a fresh self-signed root) or loaded
//! (a user's root, or an intermediate signed by the user's root).
//!
//! Loading checks everything that would otherwise show up later as workloads failing to
//! handshake: the key matches the certificate, the certificate is a CA allowed to sign
//! certificates and is currently valid, each link of the chain is signed by the next, the
//! chain ends at a root of the trust bundle, and a certificate issued the way workloads'
//! will be verifies (webpki) against the bundle.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, PublicKeyData,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::CaError;
use super::pem::{cert_pem, certs, certs_pem};
use super::sign::random_serial;
use crate::SpiffeId;

/// Default lifetime of a workload certificate (Istio's `DEFAULT_WORKLOAD_CERT_TTL`).
pub const DEFAULT_WORKLOAD_CERT_TTL: Duration = Duration::from_secs(24 * 3600);
/// Default longest lifetime a workload may ask for (Istio's `MAX_WORKLOAD_CERT_TTL`).
pub const DEFAULT_MAX_WORKLOAD_CERT_TTL: Duration = Duration::from_secs(90 * 24 * 3600);
/// Default lifetime of a generated root (Istio's self-signed root: 10 years).
pub const DEFAULT_ROOT_TTL: Duration = Duration::from_secs(3650 * 24 * 3600);
/// How far back `notBefore` is set, so that a peer whose clock is slightly behind already
/// accepts a certificate issued just now.
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// A certificate authority: signs workload certificates for identities its caller has
/// authenticated. Cheap to share (`Arc`); signing takes `&self`.
pub struct CertificateAuthority {
    pub(super) issuer: Issuer<'static, KeyPair>,
    pub(super) signing_cert: CertificateDer<'static>,
    /// The certificates above the signing one, up to and including the root; empty when
    /// the signing certificate is itself the root.
    pub(super) chain_above: Vec<CertificateDer<'static>>,
    /// Every trusted root (the trust bundle), the signing chain's root among them.
    pub(super) roots: Vec<CertificateDer<'static>>,
    pub(super) signing_not_before: SystemTime,
    pub(super) signing_not_after: SystemTime,
    pub(super) default_ttl: Duration,
    pub(super) max_ttl: Duration,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("chain_len", &(1 + self.chain_above.len()))
            .field("roots", &self.roots.len())
            .field("signing_not_after", &self.signing_not_after)
            .field("default_ttl", &self.default_ttl)
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// A new self-signed root for `trust_domain`: ECDSA P-256, `CA:true`, key usages
    /// keyCertSign + cRLSign + digitalSignature, subject `O=<trust_domain>`, valid from one
    /// minute ago for `ttl` ([`DEFAULT_ROOT_TTL`] is Istio's choice).
    pub fn generate_root(trust_domain: &str, ttl: Duration) -> Result<Self, CaError> {
        SpiffeId::parse(&format!("spiffe://{trust_domain}"))
            .map_err(|e| CaError::load("trust domain", e.reason.to_owned()))?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(CaError::signing)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::OrganizationName, trust_domain);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let now = SystemTime::now();
        params.not_before = (now - CLOCK_SKEW).into();
        params.not_after =
            now.checked_add(ttl).ok_or_else(|| CaError::Policy("root TTL is out of range".into()))?.into();
        params.serial_number = Some(random_serial()?);
        let root = params.self_signed(&key).map_err(CaError::signing)?;
        Self::load(&root.pem(), &key.serialize_pem(), "")
    }

    /// A CA from PEM text: `cert_chain_pem` is the signing certificate first, then the
    /// certificates above it (up to the root, which may be left out if it is in
    /// `extra_roots_pem`); `key_pem` is the signing key (PKCS#8); `extra_roots_pem` holds
    /// further trusted roots (may be empty). A self-signed signing certificate is a root
    /// CA; otherwise it is an intermediate, and issued chains carry everything up to the
    /// root.
    pub fn load(cert_chain_pem: &str, key_pem: &str, extra_roots_pem: &str) -> Result<Self, CaError> {
        Self::load_named(
            ("certificate chain", cert_chain_pem),
            ("private key", key_pem),
            ("trust bundle", extra_roots_pem),
        )
    }

    /// [`CertificateAuthority::load`] naming each input (a file path) in errors.
    pub(super) fn load_named(
        (chain_what, chain_pem): (&str, &str),
        (key_what, key_pem): (&str, &str),
        (roots_what, roots_pem): (&str, &str),
    ) -> Result<Self, CaError> {
        let chain = certs(chain_what, chain_pem)?;
        if chain.is_empty() {
            return Err(CaError::load(chain_what, "no CERTIFICATE PEM block"));
        }
        let mut roots = certs(roots_what, roots_pem)?;
        for (i, root) in roots.iter().enumerate() {
            parse(roots_what, i, root)?;
        }
        let key = KeyPair::from_pem(key_pem).map_err(|e| {
            CaError::load(
                key_what,
                format!("{e} (a PKCS#8 \"PRIVATE KEY\" is expected; convert with `openssl pkcs8 -topk8 -nocrypt`)"),
            )
        })?;

        let signing = parse(chain_what, 0, &chain[0])?;
        if signing.subject_pki.subject_public_key.data.as_ref() != key.der_bytes() {
            return Err(CaError::load(key_what, format!("does not match the certificate {}", signing.subject())));
        }
        let is_ca = matches!(signing.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        if !is_ca {
            return Err(CaError::load(chain_what, format!("{} is not a CA certificate (CA:true)", signing.subject())));
        }
        if let Ok(Some(ku)) = signing.key_usage()
            && !ku.value.key_cert_sign()
        {
            return Err(CaError::load(
                chain_what,
                format!("{} may not sign certificates (keyCertSign)", signing.subject()),
            ));
        }
        let (not_before, not_after) = validity(&signing);
        let now = SystemTime::now();
        if now < not_before || now > not_after {
            return Err(CaError::load(
                chain_what,
                format!(
                    "{} is not valid now (valid from {} to {})",
                    signing.subject(),
                    signing.validity().not_before,
                    signing.validity().not_after
                ),
            ));
        }

        let mut chain_above: Vec<CertificateDer<'static>> = chain[1..].to_vec();
        for i in 0..chain.len() - 1 {
            let (lower, upper) = (parse(chain_what, i, &chain[i])?, parse(chain_what, i + 1, &chain[i + 1])?);
            if lower.issuer().as_raw() != upper.subject().as_raw()
                || lower.verify_signature(Some(upper.public_key())).is_err()
            {
                return Err(CaError::load(
                    chain_what,
                    format!(
                        "certificate {} ({}) is not signed by the next one ({})",
                        i + 1,
                        lower.subject(),
                        upper.subject()
                    ),
                ));
            }
        }
        let top = parse(chain_what, chain.len() - 1, &chain[chain.len() - 1])?;
        if top.issuer().as_raw() == top.subject().as_raw() && top.verify_signature(None).is_ok() {
            let root = chain[chain.len() - 1].clone();
            if !roots.contains(&root) {
                roots.push(root);
            }
        } else {
            let issuer = roots.iter().find(|r| {
                X509Certificate::from_der(r).is_ok_and(|(_, r)| {
                    r.subject().as_raw() == top.issuer().as_raw() && top.verify_signature(Some(r.public_key())).is_ok()
                })
            });
            match issuer {
                Some(root) => chain_above.push(root.clone()),
                None => {
                    return Err(CaError::load(
                        chain_what,
                        format!(
                            "the chain does not end at a root: {} is issued by {}, which is neither in the chain nor in the {roots_what}",
                            top.subject(),
                            top.issuer()
                        ),
                    ));
                }
            }
        }

        let issuer = Issuer::from_ca_cert_der(&chain[0], key)
            .map_err(|e| CaError::load(chain_what, format!("cannot sign with this certificate: {e}")))?;
        let ca = Self {
            issuer,
            signing_cert: chain[0].clone(),
            chain_above,
            roots,
            signing_not_before: not_before,
            signing_not_after: not_after,
            default_ttl: DEFAULT_WORKLOAD_CERT_TTL,
            max_ttl: DEFAULT_MAX_WORKLOAD_CERT_TTL,
        };
        ca.probe()
            .map_err(|reason| CaError::load(chain_what, format!("issued certificates would not verify: {reason}")))?;
        Ok(ca)
    }

    /// Issues a throw-away certificate and verifies it against the trust bundle, as a
    /// workload's peer would.
    fn probe(&self) -> Result<(), String> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())?;
        let id = SpiffeId::parse("spiffe://probe.invalid/ns/probe/sa/probe").map_err(|e| e.to_string())?;
        let issued = self.issue_leaf(&key, &id, &[], &[], Duration::from_secs(60)).map_err(|e| e.to_string())?;
        let now = UnixTime::since_unix_epoch(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default());
        self.verify_chain(issued.der(), now).map(|_| ()).map_err(|e| e.to_string())
    }

    /// The same CA with another lifetime policy: `default_ttl` for requests that do not
    /// say, `max_ttl` the longest one may ask for. Both must be positive and
    /// `default_ttl <= max_ttl`.
    pub fn with_ttls(mut self, default_ttl: Duration, max_ttl: Duration) -> Result<Self, CaError> {
        if default_ttl.is_zero() || max_ttl.is_zero() {
            return Err(CaError::Policy("the default and max workload certificate TTLs must be positive".into()));
        }
        if default_ttl > max_ttl {
            return Err(CaError::Policy(format!(
                "the default workload certificate TTL ({}s) is longer than the max ({}s)",
                default_ttl.as_secs(),
                max_ttl.as_secs()
            )));
        }
        self.default_ttl = default_ttl;
        self.max_ttl = max_ttl;
        Ok(self)
    }

    /// The lifetime given when a request does not ask for one.
    pub fn default_ttl(&self) -> Duration {
        self.default_ttl
    }

    /// The longest lifetime a request may ask for.
    pub fn max_ttl(&self) -> Duration {
        self.max_ttl
    }

    /// The trust bundle: every trusted root, PEM, concatenated (`root-cert.pem`).
    pub fn trust_bundle_pem(&self) -> String {
        certs_pem(&self.roots)
    }

    /// The trusted roots, DER.
    pub fn roots(&self) -> &[CertificateDer<'static>] {
        &self.roots
    }

    /// The signing certificate, PEM (`ca-cert.pem`).
    pub fn signing_cert_pem(&self) -> String {
        cert_pem(&self.signing_cert)
    }

    /// The signing certificate then the certificates above it up to the root, PEM
    /// (`cert-chain.pem`).
    pub fn cert_chain_pem(&self) -> String {
        let mut out = cert_pem(&self.signing_cert);
        out.push_str(&certs_pem(&self.chain_above));
        out
    }

    /// When the signing certificate expires; no issued certificate outlives it.
    pub fn signing_not_after(&self) -> SystemTime {
        self.signing_not_after
    }
}

fn parse<'a>(what: &str, index: usize, der: &'a CertificateDer<'_>) -> Result<X509Certificate<'a>, CaError> {
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => Ok(cert),
        Err(e) => Err(CaError::load(what, format!("certificate {} does not parse: {e}", index + 1))),
    }
}

/// `notBefore` and `notAfter` as `SystemTime`.
pub(super) fn validity(cert: &X509Certificate<'_>) -> (SystemTime, SystemTime) {
    let at = |secs: i64| {
        if secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
        }
    };
    (at(cert.validity().not_before.timestamp()), at(cert.validity().not_after.timestamp()))
}
