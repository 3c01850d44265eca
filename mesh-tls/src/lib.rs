//! # mesh-tls
//!
//! Will hold SPIFFE identities (`spiffe://<trust-domain>/ns/<ns>/sa/<sa>`) as a validated
//! type, rustls client and server configurations with a verifier that checks the peer's
//! URI SAN against the identities the control plane expects, and hot certificate and
//! trust-bundle rotation (hot-swappable rustls resolvers).
//!
//! It is a skeleton today: the zero-trust issue fills it in. It sits between `mesh-core`
//! (identities are part of the model) and `mesh-xds` (certificate providers come from the
//! bootstrap).
