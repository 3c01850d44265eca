//! # mesh-control
//!
//! Will hold the control plane (what istiod is to Istio): Istio YAML config sources,
//! validation, translation into xDS, an ADS server and a certificate authority, exposed as
//! the `mesh-control` binary (`serve`, `validate`) and as a library so tests can start it
//! in-process.
//!
//! It is a skeleton today: the control-plane issue fills it in.
