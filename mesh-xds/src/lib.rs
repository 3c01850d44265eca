//! # mesh-xds
//!
//! Will hold the ADS client (State-of-the-World and Delta), the gRPC xDS bootstrap
//! (gRFC A27), and the `TryFrom<proto>` translation from Envoy v3 resources
//! (`envoy-types`) into validated `mesh-core` types, plus the snapshot-cache building
//! blocks the control plane serves from.
//!
//! It is a skeleton today: the xDS client issue fills it in. The client it builds feeds
//! the same `mesh_tower::client::ConfigHandle` that static configuration uses, so every
//! layer is exercised identically with and without a control plane.
