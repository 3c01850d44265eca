//! Listener resource names for clients (`xds:` targets) and servers (listening addresses), from the
//! bootstrap's name templates (gRFC A36, A47).
//!
//! A template's `%s` tokens are all replaced by the service name (client) or the `IP:port` the server
//! listens on. When the template starts with `xdstp:` (a new-style, federated name), the replacement is
//! percent-encoded first, keeping only the characters RFC 3986 §3.3 allows in a path (which include
//! `/` and `:`), and the name's authority must be one of the bootstrap's `authorities`.

use std::net::SocketAddr;

use super::error::BootstrapError;
use super::{Bootstrap, XdsServer};

/// The template used for an authority without `client_listener_resource_name_template` (A47).
fn default_authority_template(authority: &str) -> String {
    format!("xdstp://{authority}/envoy.config.listener.v3.Listener/%s")
}

/// A parsed `xds:` channel target: `xds:///host:port`, `xds:host:port` or `xds://authority/host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XdsTarget {
    /// The authority, if the target has a non-empty one (`xds://authority/...`).
    pub authority: Option<String>,
    /// The target's path without its leading `/`, percent-decoded: the *service name* substituted into
    /// listener name templates (usually `host:port`).
    pub service: String,
}

impl XdsTarget {
    /// Parses a target. Only the `xds` scheme is accepted; a query or fragment is rejected.
    pub fn parse(target: &str) -> Result<Self, BootstrapError> {
        let err = |reason: &str| BootstrapError::target(target, reason);
        let rest = match target.split_once(':') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("xds") => rest,
            _ => return Err(err("not an xds target (expected xds:///host:port or xds://authority/host:port)")),
        };
        if rest.contains(['?', '#']) {
            return Err(err("a query or fragment is not supported in an xds target"));
        }
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => after.split_once('/').unwrap_or((after, "")),
            None => ("", rest.strip_prefix('/').unwrap_or(rest)),
        };
        let authority = match authority {
            "" => None,
            a => Some(percent_decode(a).map_err(|reason| err(&reason))?),
        };
        let service = percent_decode(path).map_err(|reason| err(&reason))?;
        if service.is_empty() {
            return Err(err("no service name (expected xds:///host:port)"));
        }
        Ok(Self { authority, service })
    }

    /// The authority the data plane uses (`:authority`, and the name matched against the virtual
    /// hosts of the route configuration): the last `/`-separated segment of [`service`](Self::service).
    pub fn data_plane_authority(&self) -> &str {
        self.service.rsplit('/').next().unwrap_or(&self.service)
    }
}

impl Bootstrap {
    /// The LDS resource name a client channel for `target` subscribes to (gRFC A47):
    /// - `xds://authority/svc`: that authority's `client_listener_resource_name_template` (default
    ///   `xdstp://<authority>/envoy.config.listener.v3.Listener/%s`), with `svc` percent-encoded; an
    ///   authority missing from `authorities` is an error;
    /// - `xds:///svc`: `client_default_listener_resource_name_template` (default `%s`, giving `svc`
    ///   unchanged — the common case, e.g. `reviews.default.svc.cluster.local:9080`), with `svc`
    ///   percent-encoded if the template starts with `xdstp:`.
    pub fn client_listener_name(&self, target: &str) -> Result<String, BootstrapError> {
        let target_parsed = XdsTarget::parse(target)?;
        let name = match &target_parsed.authority {
            Some(authority) => {
                let entry = self.authorities.get(authority).ok_or_else(|| {
                    BootstrapError::target(
                        target,
                        format!("authority {authority:?} is not in the bootstrap's \"authorities\""),
                    )
                })?;
                let template = match &entry.client_listener_resource_name_template {
                    Some(template) => template.clone(),
                    None => default_authority_template(authority),
                };
                expand(&template, &target_parsed.service)
            }
            None => expand(
                self.client_default_listener_resource_name_template.as_deref().unwrap_or("%s"),
                &target_parsed.service,
            ),
        };
        self.check_authority(&name).map_err(|reason| BootstrapError::target(target, reason))?;
        Ok(name)
    }

    /// The LDS resource name an xDS-enabled server listening on `addr` subscribes to (gRFC A36, A47):
    /// `server_listener_resource_name_template` with `%s` replaced by `addr` (`0.0.0.0:8080`,
    /// `[::]:8080`; percent-encoded for an `xdstp:` template). `None` when the bootstrap has no such
    /// template (gRPC then refuses to start an xDS server).
    pub fn server_listener_name(&self, addr: SocketAddr) -> Option<String> {
        let template = self.server_listener_resource_name_template.as_deref()?;
        Some(expand(template, &addr.to_string()))
    }

    /// The management servers, in priority order, to fetch `resource_name` from: for an `xdstp:` name,
    /// those of its authority when that entry lists any, else the top-level `xds_servers` (A47).
    pub fn servers_for_resource(&self, resource_name: &str) -> Result<&[XdsServer], BootstrapError> {
        let Some(authority) = xdstp_authority(resource_name) else {
            return Ok(&self.xds_servers);
        };
        self.check_authority(resource_name).map_err(|reason| BootstrapError::target(resource_name, reason))?;
        match self.authorities.get(authority) {
            Some(entry) if !entry.xds_servers.is_empty() => Ok(&entry.xds_servers),
            _ => Ok(&self.xds_servers),
        }
    }

    /// An `xdstp:` name's authority must be in `authorities` (A47).
    pub(super) fn check_authority(&self, name: &str) -> Result<(), String> {
        match xdstp_authority(name) {
            Some(authority) if !self.authorities.contains_key(authority) => {
                Err(format!("authority {authority:?} is not in the bootstrap's \"authorities\""))
            }
            _ => Ok(()),
        }
    }
}

/// Replaces every `%s` in `template` by `value`, percent-encoded if the template is an `xdstp:` name.
fn expand(template: &str, value: &str) -> String {
    if is_xdstp(template) { template.replace("%s", &percent_encode_path(value)) } else { template.replace("%s", value) }
}

pub(super) fn is_xdstp(name: &str) -> bool {
    name.starts_with("xdstp:")
}

/// The authority of an `xdstp:` name (empty when it has none), `None` for an old-style name.
pub(super) fn xdstp_authority(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("xdstp:")?;
    Some(match rest.strip_prefix("//") {
        Some(after) => after.split(['/', '?', '#']).next().unwrap_or(after),
        None => "",
    })
}

/// Percent-encodes every byte that RFC 3986 §3.3 does not allow in a path (`pchar` and `/`).
fn percent_encode_path(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        let allowed = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&byte);
        if allowed {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; the result must be UTF-8.
fn percent_decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.ok_or_else(|| format!("invalid percent-encoding at byte {i}"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoded bytes are not UTF-8".to_owned())
}
