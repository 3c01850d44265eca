//! `AuthorizationPolicy` (`security.istio.io`): which requests a workload's servers accept
//! (ALLOW), refuse (DENY) or mark for auditing (AUDIT), by source identity, operation and
//! conditions; and [`ConditionAttribute`], the `when` keys Istio knows.
//!
//! Every string of a rule accepts Istio's four forms: exact (`abc`), prefix (`abc*`),
//! suffix (`*abc`) and presence (`*`).

use serde::{Deserialize, Serialize};

use super::MatchLabelsSelector;

/// Access control for a set of workloads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthorizationPolicy {
    /// Workloads (of the policy's namespace; of every namespace in the root namespace) it
    /// applies to; none means all of them.
    pub selector: Option<MatchLabelsSelector>,
    /// A Gateway API resource the policy is attached to (gateways and waypoints only).
    pub target_ref: Option<PolicyTargetReference>,
    /// Gateway API resources the policy is attached to (gateways and waypoints only).
    #[serde(default)]
    pub target_refs: Vec<PolicyTargetReference>,
    /// Rules; a request matches the policy when it matches one rule. None matches nothing.
    #[serde(default)]
    pub rules: Vec<AuthorizationRule>,
    /// What to do with a matching request; none is ALLOW.
    pub action: Option<AuthorizationAction>,
    /// The extension of a CUSTOM policy.
    pub provider: Option<ExtensionProvider>,
    /// Not a field of the `spec`: the object's `istio.io/dry-run` annotation. A dry-run
    /// policy is evaluated and logged by Envoy, never enforced.
    #[serde(skip)]
    pub dry_run: bool,
}

impl AuthorizationPolicy {
    /// The action, ALLOW when not written.
    pub fn action(&self) -> AuthorizationAction {
        self.action.unwrap_or(AuthorizationAction::Allow)
    }

    /// Whether the policy is attached to Gateway API resources rather than selecting
    /// workloads.
    pub fn has_target_ref(&self) -> bool {
        self.target_ref.is_some() || !self.target_refs.is_empty()
    }
}

/// What an AuthorizationPolicy does with the requests its rules match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthorizationAction {
    /// Accept a request only if some ALLOW policy matches it.
    Allow,
    /// Refuse a request that a DENY policy matches.
    Deny,
    /// Mark a matching request for auditing; does not change the decision.
    Audit,
    /// Delegate to an external authorizer (not supported: rejected by validation).
    Custom,
}

/// A resource a policy is attached to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyTargetReference {
    /// API group (`gateway.networking.k8s.io`).
    pub group: Option<String>,
    /// Kind (`Gateway`, `Service`).
    pub kind: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
}

/// The extension provider of a CUSTOM policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtensionProvider {
    /// Provider name (from the mesh config).
    pub name: Option<String>,
}

/// One rule: some source, some operation and every condition. `None` lists are "any";
/// an empty list written as `[]` is an error (as in Istio).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthorizationRule {
    /// Sources, one of which must match.
    pub from: Option<Vec<RuleFrom>>,
    /// Operations, one of which must match.
    pub to: Option<Vec<RuleTo>>,
    /// Conditions, all of which must match.
    pub when: Option<Vec<RuleCondition>>,
}

/// A source of a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleFrom {
    /// The source.
    pub source: Option<RuleSource>,
}

/// An operation of a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleTo {
    /// The operation.
    pub operation: Option<RuleOperation>,
}

/// Who sends a request. Fields are ANDed, the values of one field ORed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleSource {
    /// Peer identities `<trust domain>/ns/<ns>/sa/<sa>` (mTLS).
    #[serde(default)]
    pub principals: Vec<String>,
    /// Negative match of peer identities.
    #[serde(default)]
    pub not_principals: Vec<String>,
    /// Request identities `<iss>/<sub>` (JWT).
    #[serde(default)]
    pub request_principals: Vec<String>,
    /// Negative match of request identities.
    #[serde(default)]
    pub not_request_principals: Vec<String>,
    /// Namespaces of the peer identity (mTLS).
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Negative match of namespaces.
    #[serde(default)]
    pub not_namespaces: Vec<String>,
    /// Service accounts of the peer identity, `<sa>` or `<ns>/<sa>` (mTLS).
    #[serde(default)]
    pub service_accounts: Vec<String>,
    /// Negative match of service accounts.
    #[serde(default)]
    pub not_service_accounts: Vec<String>,
    /// Source addresses (IP or CIDR) of the connection.
    #[serde(default)]
    pub ip_blocks: Vec<String>,
    /// Negative match of source addresses.
    #[serde(default)]
    pub not_ip_blocks: Vec<String>,
    /// Original client addresses (X-Forwarded-For, PROXY protocol).
    #[serde(default)]
    pub remote_ip_blocks: Vec<String>,
    /// Negative match of original client addresses.
    #[serde(default)]
    pub not_remote_ip_blocks: Vec<String>,
}

/// What a request does. Fields are ANDed, the values of one field ORed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleOperation {
    /// Hosts (`:authority`, case-insensitive).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Negative match of hosts.
    #[serde(default)]
    pub not_hosts: Vec<String>,
    /// Destination ports of the connection.
    #[serde(default)]
    pub ports: Vec<String>,
    /// Negative match of ports.
    #[serde(default)]
    pub not_ports: Vec<String>,
    /// HTTP methods (`POST` for gRPC).
    #[serde(default)]
    pub methods: Vec<String>,
    /// Negative match of methods.
    #[serde(default)]
    pub not_methods: Vec<String>,
    /// Normalized paths (`/package.Service/Method` for gRPC).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Negative match of paths.
    #[serde(default)]
    pub not_paths: Vec<String>,
}

/// An additional condition on an Istio attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleCondition {
    /// The attribute (see [`ConditionAttribute`]).
    #[serde(default)]
    pub key: String,
    /// Values, one of which must match.
    #[serde(default)]
    pub values: Vec<String>,
    /// Values none of which may match.
    #[serde(default)]
    pub not_values: Vec<String>,
}

/// A RequestAuthentication's spec is kept as written: JWT is not validated by mesh servers.
pub type RequestAuthentication = serde_json::Value;

/// The `when` keys Istio defines (its "Authorization Policy Conditions"), as parsed from
/// a condition's `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionAttribute {
    /// `request.headers[<name>]`.
    RequestHeader(String),
    /// `source.ip`: the connection's source address.
    SourceIp,
    /// `remote.ip`: the original client address.
    RemoteIp,
    /// `source.namespace`: the namespace of the peer identity.
    SourceNamespace,
    /// `source.principal`: the peer identity.
    SourcePrincipal,
    /// `source.serviceAccount`: `<sa>` or `<ns>/<sa>` of the peer identity.
    SourceServiceAccount,
    /// `request.auth.principal`: the JWT's `<iss>/<sub>`.
    RequestPrincipal,
    /// `request.auth.audiences`: the JWT's `aud`.
    RequestAudiences,
    /// `request.auth.presenter`: the JWT's `azp`.
    RequestPresenter,
    /// `request.auth.claims[<name>]…`: a (nested) JWT claim.
    RequestClaim(Vec<String>),
    /// `destination.ip`: the address the connection was accepted on.
    DestinationIp,
    /// `destination.port`: the port the connection was accepted on.
    DestinationPort,
    /// `connection.sni`: the TLS server name.
    ConnectionSni,
}

impl ConditionAttribute {
    /// Parses a condition key; the error says why it is not one.
    pub fn parse(key: &str) -> Result<Self, String> {
        let simple = match key {
            "source.ip" => Some(Self::SourceIp),
            "remote.ip" => Some(Self::RemoteIp),
            "source.namespace" => Some(Self::SourceNamespace),
            "source.principal" => Some(Self::SourcePrincipal),
            "source.serviceAccount" => Some(Self::SourceServiceAccount),
            "request.auth.principal" => Some(Self::RequestPrincipal),
            "request.auth.audiences" => Some(Self::RequestAudiences),
            "request.auth.presenter" => Some(Self::RequestPresenter),
            "destination.ip" => Some(Self::DestinationIp),
            "destination.port" => Some(Self::DestinationPort),
            "connection.sni" => Some(Self::ConnectionSni),
            _ => None,
        };
        if let Some(attribute) = simple {
            return Ok(attribute);
        }
        if let Some(rest) = key.strip_prefix("request.headers") {
            return match bracketed(rest).as_deref() {
                Some([name]) => Ok(Self::RequestHeader(name.clone())),
                _ => Err(format!("{key:?}: expected request.headers[<header name>]")),
            };
        }
        if let Some(rest) = key.strip_prefix("request.auth.claims") {
            return match bracketed(rest) {
                Some(names) => Ok(Self::RequestClaim(names)),
                None => Err(format!("{key:?}: expected request.auth.claims[<claim>] (nested: [<a>][<b>])")),
            };
        }
        Err(match key {
            "destination.namespace" | "destination.name" | "destination.user" => {
                format!("attribute {key:?} is not supported by Istio any more: use the policy's namespace and selector")
            }
            _ if key.starts_with("destination.labels") => {
                format!("attribute {key:?} is not supported by Istio any more: use the policy's selector")
            }
            _ if key.starts_with("experimental.") => format!("experimental attribute {key:?} is not supported"),
            _ if key.starts_with("request.inlineHeaders") => {
                format!("attribute {key:?} is not supported by mesh-control (use request.headers[…])")
            }
            _ => format!(
                "unknown attribute {key:?} (known: request.headers[<name>], source.ip, remote.ip, source.namespace, \
                 source.principal, source.serviceAccount, request.auth.principal, request.auth.audiences, \
                 request.auth.presenter, request.auth.claims[<name>], destination.ip, destination.port, connection.sni)"
            ),
        })
    }

    /// Whether the attribute comes from a JWT (RequestAuthentication).
    pub fn is_jwt(&self) -> bool {
        matches!(self, Self::RequestPrincipal | Self::RequestAudiences | Self::RequestPresenter | Self::RequestClaim(_))
    }
}

/// `[a][b]` → `[a, b]`; `None` unless the text is one or more non-empty bracketed names.
fn bracketed(text: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        let name = &inner[..end];
        if name.is_empty() || name.contains('[') {
            return None;
        }
        names.push(name.to_string());
        rest = &inner[end + 1..];
    }
    (!names.is_empty()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes() {
        assert_eq!(
            ConditionAttribute::parse("request.headers[x-token]"),
            Ok(ConditionAttribute::RequestHeader("x-token".into()))
        );
        assert_eq!(
            ConditionAttribute::parse("request.auth.claims[groups][0]"),
            Ok(ConditionAttribute::RequestClaim(vec!["groups".into(), "0".into()]))
        );
        assert_eq!(ConditionAttribute::parse("destination.port"), Ok(ConditionAttribute::DestinationPort));
        for bad in ["request.headers", "request.headers[]", "request.headers[a]x", "source.ipx", "", "when"] {
            assert!(ConditionAttribute::parse(bad).is_err(), "{bad}");
        }
        assert!(
            ConditionAttribute::parse("destination.namespace").is_err_and(|e| e.contains("not supported by Istio"))
        );
        assert!(ConditionAttribute::RequestPrincipal.is_jwt() && !ConditionAttribute::SourcePrincipal.is_jwt());
    }
}
