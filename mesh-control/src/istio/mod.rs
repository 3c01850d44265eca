//! Istio's own configuration, read from YAML files: the model, parsing with `file:line`,
//! and validation (what Istio's Galley / validating webhook does).
//!
//! # Why Istio's YAML, unchanged
//!
//! Teams that move to the mesh already have VirtualServices and DestinationRules. Reading
//! them as they are (`networking.istio.io` and `security.istio.io`, v1, v1beta1 and
//! v1alpha3) means no migration and no second dialect to learn. The model mirrors
//! Istio's API field for field (camelCase, as `kubectl apply` takes it) and rejects unknown
//! fields, as Istio's own validation does: a typo (`subsets` → `subset`) is an error with a
//! line number, never a silently ignored rule.
//!
//! # Why `file:line` on every issue
//!
//! `kubectl apply` tells the user *which object* is wrong; a control plane reading a
//! directory must also say *where*. Every [`ConfigIssue`] renders as
//! `file:line: Kind/namespace/name: field: reason`, the form editors and CI logs link to.
//! Syntax and schema errors carry the line serde_yaml_ng reports; semantic errors point at
//! the offending field, found by walking the document's block structure ([`locate`]).
//!
//! # Why all-or-nothing
//!
//! [`load_paths`] returns a [`ConfigSet`] only if *every* document is valid, and otherwise
//! *every* issue it found. Applying the valid half of a change (a VirtualService that
//! routes to a subset whose DestinationRule failed) would produce a state nobody wrote;
//! the control plane keeps serving the last good set instead.
//!
//! # Layout
//!
//! - [`model`]: the kinds, as serde types;
//! - `document.rs` splits multi-document files, `parse.rs` turns one text into named
//!   objects, `kinds.rs` knows which `apiVersion`/`kind` pairs are accepted;
//! - `validate/`: per-document rules (weights, regexes, durations, enums, …) and
//!   cross-document rules ([`validate`]: duplicates, subset references);
//! - `host.rs`: Istio's short-name resolution ([`resolve_host`]);
//! - `load.rs`: directories, recursion, determinism.

mod document;
mod host;
mod issue;
mod kinds;
mod load;
pub mod locate;
pub mod model;
mod parse;
mod path;
mod set;
mod validate;

pub use host::{host_matches, resolve_host};
pub use issue::ConfigIssue;
pub use load::load_paths;
pub use model::*;
pub use parse::parse_str;
pub use path::FieldPath;
pub use set::{ConfigSet, Named, Source};
pub(crate) use validate::security_values::{parse_cidr, parse_port};
pub use validate::validate;
pub(crate) use validate::values::{grpc_status_code, split_retry_on};
