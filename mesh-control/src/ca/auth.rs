//! [`Authenticator`]: who is calling the CA, from the credential only.
//!
//! Two credentials are accepted, tried in this order (as istiod tries its authenticators):
//!
//! 1. a client certificate presented on the TLS connection that chains to the CA's trust
//!    bundle: the caller is its SPIFFE URI SAN. This is how a workload renews its
//!    certificate without a token;
//! 2. `authorization: Bearer <token>` metadata, looked up in the tokens
//!    ([`Authenticator::with_token_file`]).
//!
//! A certificate that does not verify does not end the attempt: a workload whose
//! certificate expired can still renew with its token. Nothing the request *says* (the
//! CSR's SANs, metadata) is ever taken as the identity.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use mesh_tls::SpiffeId;
use mesh_tls::ca::CertificateAuthority;
use rustls_pki_types::CertificateDer;
use tonic::metadata::MetadataMap;

use super::tokens::{TokenFile, TokenFileError, TokenTable};

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A client certificate issued under the CA's trust bundle.
    ClientCertificate,
    /// A bearer token from the tokens file.
    Token,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who it is.
    pub identity: SpiffeId,
    /// How it proved it.
    pub credential: Credential,
}

/// Why a caller was not authenticated (the message goes back to it as UNAUTHENTICATED).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(String);

#[derive(Debug)]
enum Tokens {
    None,
    Fixed(Arc<TokenTable>),
    File(TokenFile),
}

/// Authenticates CA callers; cheap to clone.
#[derive(Debug, Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    trust_domain: String,
    tokens: Tokens,
}

impl Authenticator {
    /// Accepts client certificates only, until tokens are added. `trust_domain` is the one
    /// of identities proved by tokens (and of the CA server's own certificate).
    pub fn new(trust_domain: &str) -> Result<Self, AuthError> {
        SpiffeId::parse(&format!("spiffe://{trust_domain}"))
            .map_err(|e| AuthError(format!("invalid trust domain {trust_domain:?}: {}", e.reason)))?;
        Ok(Self { inner: Arc::new(Inner { trust_domain: trust_domain.to_owned(), tokens: Tokens::None }) })
    }

    /// Accepts the tokens of `path` (see the [tokens file](super#the-tokens-file) format), validated
    /// now and re-read when the file changes.
    pub fn with_token_file(self, path: &Path) -> Result<Self, TokenFileError> {
        let tokens = TokenFile::load(path, &self.inner.trust_domain)?;
        Ok(self.replace_tokens(Tokens::File(tokens)))
    }

    /// Accepts these tokens, each proving its identity (for embedding and tests).
    #[must_use]
    pub fn with_tokens(self, tokens: impl IntoIterator<Item = (String, SpiffeId)>) -> Self {
        let table: HashMap<String, SpiffeId> = tokens.into_iter().collect();
        self.replace_tokens(Tokens::Fixed(Arc::new(table)))
    }

    fn replace_tokens(self, tokens: Tokens) -> Self {
        Self { inner: Arc::new(Inner { trust_domain: self.inner.trust_domain.clone(), tokens }) }
    }

    /// The trust domain of token identities.
    pub fn trust_domain(&self) -> &str {
        &self.inner.trust_domain
    }

    /// Who sent a request with `metadata` over a connection that presented `peer_chain`
    /// (leaf first; `None` without a client certificate).
    pub fn authenticate(
        &self,
        metadata: &MetadataMap,
        peer_chain: Option<&[CertificateDer<'static>]>,
        ca: &CertificateAuthority,
    ) -> Result<Caller, AuthError> {
        let mut refused = Vec::new();
        if let Some(chain) = peer_chain.filter(|c| !c.is_empty()) {
            match ca.verify_issued(chain, SystemTime::now()) {
                Ok(identity) => return Ok(Caller { identity, credential: Credential::ClientCertificate }),
                Err(e) => refused.push(format!("client {e}")),
            }
        }
        match bearer(metadata) {
            Ok(Some(token)) => match self.lookup(token) {
                Some(identity) => return Ok(Caller { identity, credential: Credential::Token }),
                None => refused.push("unknown bearer token".to_owned()),
            },
            Ok(None) => {}
            Err(e) => refused.push(e),
        }
        if refused.is_empty() {
            return Err(AuthError(
                "no credential: send `authorization: Bearer <token>` or a client certificate issued by this CA".into(),
            ));
        }
        Err(AuthError(format!("authentication failed: {}", refused.join("; "))))
    }

    fn lookup(&self, token: &str) -> Option<SpiffeId> {
        match &self.inner.tokens {
            Tokens::None => None,
            Tokens::Fixed(table) => table.get(token).cloned(),
            Tokens::File(file) => file.current().get(token).cloned(),
        }
    }
}

/// The bearer token of `authorization`, if any.
fn bearer(metadata: &MetadataMap) -> Result<Option<&str>, String> {
    let Some(value) = metadata.get("authorization") else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| "the authorization header is not ASCII".to_owned())?;
    let value = value.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(format!("unsupported authorization scheme {scheme:?} (expected Bearer)"));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err("empty bearer token".to_owned());
    }
    Ok(Some(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(value: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("authorization", value.parse().unwrap());
        m
    }

    #[test]
    fn bearer_header_forms() {
        assert_eq!(bearer(&MetadataMap::new()), Ok(None));
        assert_eq!(bearer(&metadata("Bearer abc")), Ok(Some("abc")));
        assert_eq!(bearer(&metadata("bearer  abc ")), Ok(Some("abc")));
        assert!(bearer(&metadata("Basic abc")).unwrap_err().contains("unsupported authorization scheme"));
        assert!(bearer(&metadata("abc")).unwrap_err().contains("unsupported authorization scheme"));
        assert!(bearer(&metadata("Bearer")).unwrap_err().contains("empty bearer token"));
    }
}
