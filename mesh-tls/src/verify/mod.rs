//! rustls verifiers for mesh connections.
//!
//! Both sides check the peer's chain against the trust bundle *read at each handshake*
//! (so a bundle update applies to the next connection without rebuilding configs), with
//! webpki (signatures, validity period, CA constraints, key usage). The client side then
//! checks the server's subject alternative names against what the control plane said the
//! destination's identities are — for `ISTIO_MUTUAL` the SPIFFE URI SANs — instead of the
//! host name, as Envoy does with `match_typed_subject_alt_names`. The server side accepts
//! any chain to the bundle; *who* may call is authorization's business.

mod config;
mod sans;

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

pub use config::{AlpnProtocols, ca_client_config, client_config, external_client_config, server_config};
pub use sans::SanPolicy;

use crate::identity::{IdentityStore, TrustBundle};

/// Where a verifier reads its roots from.
#[derive(Debug, Clone)]
pub enum Roots {
    /// The live bundle of an identity store (mesh certificates).
    Store(Arc<IdentityStore>),
    /// A fixed bundle (e.g. `caCertificates` of a DestinationRule).
    Fixed(Arc<TrustBundle>),
}

impl Roots {
    fn bundle(&self) -> Arc<TrustBundle> {
        match self {
            Roots::Store(s) => s.trust_bundle(),
            Roots::Fixed(b) => b.clone(),
        }
    }
}

fn algorithms() -> rustls::crypto::WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

fn verify_chain(
    roots: &Roots,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
    usage: webpki::KeyUsage,
) -> Result<(), Error> {
    let bundle = roots.bundle();
    if bundle.is_empty() {
        return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
    }
    let cert = webpki::EndEntityCert::try_from(end_entity)
        .map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
    cert.verify_for_usage(algorithms().all, bundle.anchors(), intermediates, now, usage, None, None)
        .map(|_| ())
        .map_err(pki_error)
}

fn pki_error(e: webpki::Error) -> Error {
    use webpki::Error as E;
    let kind = match e {
        E::CertExpired { .. } => CertificateError::Expired,
        E::CertNotValidYet { .. } => CertificateError::NotValidYet,
        E::UnknownIssuer => CertificateError::UnknownIssuer,
        E::BadDer | E::BadDerTime => CertificateError::BadEncoding,
        E::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        E::CertNotValidForName(_) => CertificateError::NotValidForName,
        E::RequiredEkuNotFoundContext(_) => CertificateError::InvalidPurpose,
        other => CertificateError::Other(rustls::OtherError(Arc::new(WebpkiError(format!("{other:?}"))))),
    };
    Error::InvalidCertificate(kind)
}

#[derive(Debug)]
struct WebpkiError(String);

impl std::fmt::Display for WebpkiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WebpkiError {}

/// The handshake-signature methods both verifier traits require, the same for both:
/// the peer proves it holds the certificate's key, checked with the ring provider.
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &algorithms())
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &algorithms())
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            algorithms().supported_schemes()
        }
    };
}

/// Client side: verifies a server's chain against [`Roots`] and its SANs against a
/// [`SanPolicy`]. The host name is not checked unless the policy says so.
#[derive(Debug)]
pub struct PeerServerVerifier {
    roots: Roots,
    sans: SanPolicy,
    skip_chain: bool,
}

impl PeerServerVerifier {
    /// A verifier for `roots` and `sans`.
    pub fn new(roots: Roots, sans: SanPolicy) -> Arc<Self> {
        Arc::new(Self { roots, sans, skip_chain: false })
    }

    /// A verifier that accepts any chain (DestinationRule `insecureSkipVerify: true`).
    /// Handshake signatures are still checked.
    pub fn insecure_skip_verify() -> Arc<Self> {
        Arc::new(Self { roots: Roots::Fixed(Arc::default()), sans: SanPolicy::any(), skip_chain: true })
    }
}

impl ServerCertVerifier for PeerServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if !self.skip_chain {
            verify_chain(&self.roots, end_entity, intermediates, now, webpki::KeyUsage::server_auth())?;
            self.sans.check(end_entity, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures!();
}

/// Server side: verifies a client's chain against [`Roots`]. With `mandatory`, a client
/// without a certificate fails the handshake (mTLS); otherwise it is let through as an
/// unauthenticated peer.
#[derive(Debug)]
pub struct PeerClientVerifier {
    roots: Roots,
    mandatory: bool,
}

impl PeerClientVerifier {
    /// A verifier for `roots`.
    pub fn new(roots: Roots, mandatory: bool) -> Arc<Self> {
        Arc::new(Self { roots, mandatory })
    }
}

impl ClientCertVerifier for PeerClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        verify_chain(&self.roots, end_entity, intermediates, now, webpki::KeyUsage::client_auth())?;
        Ok(ClientCertVerified::assertion())
    }

    handshake_signatures!();
}
