//! Endpoints registered at run time: Istio's VM registration (`WorkloadEntry` auto-registration),
//! without Kubernetes.
//!
//! A workload that is not described by a `WorkloadEntry` file announces itself to the control
//! plane: "I serve `reviews.default.svc.cluster.local` at `10.0.0.7`, port `http` is `9080`".
//! The control plane keeps it in a [`Registry`], and every change re-translates the
//! configuration already loaded (no file reload) with [`Registry::list`] as extra instances,
//! so clients see the endpoint through EDS within one debounce delay (100 ms by default).
//! An instance joins the service whose host is its `service`: a `ServiceEntry` host (whose
//! ports are authoritative; the instance maps them by name), or else a service known only
//! from its instances, whose ports are the ones they declare. Subsets (DestinationRule) and
//! locality apply to it as to any `WorkloadEntry`. Registrations are applied even while the
//! files on disk are invalid (on top of the last valid configuration).
//!
//! # The registration API
//!
//! Mounted on the admin server (default `127.0.0.1:15014`). Bodies are JSON.
//!
//! | request | answer |
//! |---|---|
//! | `POST /v1/registrations` with a registration | `201 Created` (new) or `200 OK` (replaced the one with the same service and address), body: the stored registration |
//! | `GET /v1/registrations` | `200 OK`, a JSON array of every registration |
//! | `DELETE /v1/registrations?service=<host>&address=<ip>` | `204 No Content`, or `404` if there is none |
//! | `DELETE /v1/registrations/<host>/<ip>` | the same, path form |
//!
//! A registration (only `service`, `address` and `ports` are required):
//!
//! ```json
//! {
//!   "service": "reviews.default.svc.cluster.local",
//!   "namespace": "default",
//!   "address": "10.0.0.7",
//!   "ports": { "http": 9080 },
//!   "labels": { "app": "reviews", "version": "v2" },
//!   "weight": 1,
//!   "locality": "eu-west1/eu-west1-b",
//!   "service_account": "reviews"
//! }
//! ```
//!
//! Defaults: `namespace` `"default"`, `labels` none, `weight` 1, `locality` and
//! `service_account` empty. `ports` maps a service port *name* (or the service port number
//! as a string, `"9080"`) to the port this instance listens on, as a `WorkloadEntry`'s
//! `ports` does. A registration is identified by `(service, address)`: posting the same pair
//! again replaces it.
//!
//! Invalid input is answered `400 Bad Request` with a body naming the field:
//! `{"field": "ports.http", "error": "ports.http: port must be between 1 and 65535"}`. Unknown
//! fields are rejected the same way (a typo is not silently ignored).
//!
//! Registrations live as long as the process (no TTL or heartbeat yet): a workload that goes
//! away must `DELETE` itself, or be deleted by whoever manages it.
//!
//! # Why a trait
//!
//! [`MemoryRegistry`] is enough for one control-plane replica. Several replicas need a shared
//! store (etcd): [`Registry`] is shaped for that — writes are asynchronous and fallible
//! ([`RegistryError::Unavailable`]), while [`Registry::list`] and [`Registry::subscribe`] read
//! a local view, which a store-backed registry keeps current from a watch (as Istio's
//! informers do), so translation never waits on the network.

mod api;
mod memory;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use tokio::sync::watch;

pub(crate) use api::json_response;
pub use api::routes;
pub use memory::MemoryRegistry;
pub use validate::validate;

/// One workload instance serving a service — from a WorkloadEntry (selected by a
/// ServiceEntry), a ServiceEntry's inline endpoints, or the registration API.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct WorkloadInstance {
    /// The service's fully qualified host (`reviews.default.svc.cluster.local`).
    pub service: String,
    /// Namespace of the workload.
    pub namespace: String,
    /// Address.
    pub address: IpAddr,
    /// Port name → port on this instance (`http: 9080`); an entry named by the service
    /// port's number as a string (`"9080": 19080`) also maps a port.
    pub ports: BTreeMap<String, u16>,
    /// Labels (subset selection: `version: v2`).
    pub labels: BTreeMap<String, String>,
    /// Load-balancing weight (≥ 1).
    pub weight: u32,
    /// `region/zone/subzone`.
    pub locality: String,
    /// Service account (for identities, later).
    pub service_account: String,
}

/// A boxed future returned by [`Registry`]'s writes (object safe, `Send`).
pub type RegistryFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where registered workload instances are kept. Shared as `Arc<dyn Registry>` by the
/// registration API (writes) and the control plane (reads, change notifications).
pub trait Registry: Send + Sync + fmt::Debug {
    /// Adds `instance`, or replaces the one with the same `(service, address)`. Implementations
    /// validate it with [`validate()`] first.
    fn register(&self, instance: WorkloadInstance) -> RegistryFuture<'_, Result<Registered, RegistryError>>;

    /// Removes the instance of `service` at `address`; `Ok(false)` if there was none.
    fn deregister<'a>(&'a self, service: &'a str, address: IpAddr) -> RegistryFuture<'a, Result<bool, RegistryError>>;

    /// Every registered instance, sorted by `(service, address)`. Reads the local view: cheap,
    /// never blocks on I/O.
    fn list(&self) -> Vec<WorkloadInstance>;

    /// A receiver of the registry's generation, which changes after every effective write
    /// (a write that changes nothing does not notify).
    fn subscribe(&self) -> watch::Receiver<u64>;
}

/// What [`Registry::register`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// A new instance.
    Created,
    /// Replaced an instance with the same service and address by a different one.
    Replaced,
    /// The same instance was already registered: nothing changed.
    Unchanged,
}

/// Why a registry operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The input is invalid (HTTP 400).
    #[error("{field}: {reason}")]
    Invalid {
        /// The offending field (`ports.http`, `address`, …).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The backing store could not be reached (HTTP 503); the write did not happen.
    #[error("registry unavailable: {0}")]
    Unavailable(String),
}

impl RegistryError {
    /// An [`RegistryError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), reason: reason.into() }
    }
}
