//! [`Node`]: who this client is, sent in the first request of every ADS stream (gRFC A27).

use envoy_types::pb::envoy::config::core::v3 as core;
use envoy_types::pb::google::protobuf as pb;
use serde_json::{Map, Value, json};

use super::error::FieldError;
use super::fields;

/// The `user_agent_name` this client reports.
pub const USER_AGENT_NAME: &str = "mesh";

/// The `client_features` this client reports in its [`Node`]:
/// - `envoy.lb.does_not_support_overprovisioning`: endpoint priorities are used as given, with no
///   overprovisioning factor (as gRPC does);
/// - `xds.config.resource-in-sotw`: State-of-the-World responses may wrap resources in
///   `envoy.service.discovery.v3.Resource`, which the client unwraps.
pub const CLIENT_FEATURES: [&str; 2] = ["envoy.lb.does_not_support_overprovisioning", "xds.config.resource-in-sotw"];

/// The `node` object: identifies this client to the control plane.
///
/// `id`, `cluster`, `locality` and `metadata` come from the bootstrap; the user agent is set by the
/// client (like gRPC, any user agent in the JSON is ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// `id`: an opaque identifier of this instance (Istio expects e.g. `sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local`).
    /// May be empty (gRPC allows it; a warning is logged when a bootstrap has none).
    pub id: String,
    /// `cluster`: the local service cluster.
    pub cluster: String,
    /// `locality`: where this instance runs.
    pub locality: Option<Locality>,
    /// `metadata`: opaque, sent as a `google.protobuf.Struct`.
    pub metadata: Map<String, Value>,
    /// `user_agent_name` sent to the server: [`USER_AGENT_NAME`].
    pub user_agent_name: String,
    /// `user_agent_version` sent to the server: this crate's version.
    pub user_agent_version: String,
}

/// `node.locality`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locality {
    /// `region`.
    pub region: String,
    /// `zone`.
    pub zone: String,
    /// `sub_zone`.
    pub sub_zone: String,
}

impl Default for Node {
    fn default() -> Self {
        Self {
            id: String::new(),
            cluster: String::new(),
            locality: None,
            metadata: Map::new(),
            user_agent_name: USER_AGENT_NAME.to_owned(),
            user_agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

impl Node {
    /// The Envoy v3 `Node` to send in discovery requests, with [`CLIENT_FEATURES`] and the user agent.
    pub fn to_proto(&self) -> core::Node {
        core::Node {
            id: self.id.clone(),
            cluster: self.cluster.clone(),
            locality: self.locality.as_ref().map(|l| core::Locality {
                region: l.region.clone(),
                zone: l.zone.clone(),
                sub_zone: l.sub_zone.clone(),
            }),
            metadata: (!self.metadata.is_empty()).then(|| to_struct(&self.metadata)),
            user_agent_name: self.user_agent_name.clone(),
            user_agent_version_type: Some(core::node::UserAgentVersionType::UserAgentVersion(
                self.user_agent_version.clone(),
            )),
            client_features: CLIENT_FEATURES.iter().map(|f| (*f).to_owned()).collect(),
            ..Default::default()
        }
    }

    pub(super) fn to_json(&self) -> Value {
        let mut obj = fields::Object::new();
        obj.insert("id".into(), json!(self.id));
        if !self.cluster.is_empty() {
            obj.insert("cluster".into(), json!(self.cluster));
        }
        if let Some(l) = &self.locality {
            obj.insert("locality".into(), json!({ "region": l.region, "zone": l.zone, "sub_zone": l.sub_zone }));
        }
        if !self.metadata.is_empty() {
            obj.insert("metadata".into(), Value::Object(self.metadata.clone()));
        }
        Value::Object(obj)
    }
}

/// Parses the `node` object.
pub(super) fn parse_node(value: &Value, path: &str) -> Result<Node, FieldError> {
    let obj = fields::object(value, path)?;
    let string = |key: &str| fields::opt_string(obj, key, path).map(Option::unwrap_or_default);
    let locality = match fields::opt_object(obj, "locality", path)? {
        None => None,
        Some(l) => {
            let l_path = fields::child(path, "locality");
            let string = |key: &str| fields::opt_string(l, key, &l_path).map(Option::unwrap_or_default);
            Some(Locality { region: string("region")?, zone: string("zone")?, sub_zone: string("sub_zone")? })
        }
    };
    let metadata = fields::opt_object(obj, "metadata", path)?.cloned().unwrap_or_default();
    Ok(Node { id: string("id")?, cluster: string("cluster")?, locality, metadata, ..Node::default() })
}

fn to_struct(map: &Map<String, Value>) -> pb::Struct {
    pb::Struct { fields: map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect() }
}

fn to_value(value: &Value) -> pb::Value {
    use pb::value::Kind;
    let kind = match value {
        Value::Null => Kind::NullValue(pb::NullValue::NullValue as i32),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(pb::ListValue { values: items.iter().map(to_value).collect() }),
        Value::Object(map) => Kind::StructValue(to_struct(map)),
    };
    pb::Value { kind: Some(kind) }
}
