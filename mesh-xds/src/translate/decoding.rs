//! Bytes → validated resource: the entry point the ADS client calls for every resource
//! of a response, and the fuzz target.

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::service::discovery::v3::Resource as Wrapper;
use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};

use super::value::{is, type_name};
use super::{
    ClusterConfig, Decoded, EndpointsConfig, ListenerConfig, Resource, ResourceError, RouteConfig, ServerListener,
};
use crate::type_url as urls;

/// Decodes and validates one resource of `type_url` (see [`crate::type_url`]). Accepts
/// the resource either directly or wrapped in `envoy.service.discovery.v3.Resource`
/// (`type.googleapis.com/envoy.service.discovery.v3.Resource`). Never panics on any
/// input bytes.
pub fn decode(type_url: &str, any: &Any) -> Decoded {
    let (inner, wrapper_name) = if is::<Wrapper>(any) {
        let wrapper = match Wrapper::decode(any.value.as_slice()) {
            Ok(w) => w,
            Err(e) => return failed(None, format!("cannot decode {}: {e}", Wrapper::full_name())),
        };
        let name = Some(wrapper.name).filter(|n| !n.is_empty());
        match wrapper.resource {
            Some(inner) => (inner, name),
            None => return failed(name, "the Resource wrapper holds no resource".into()),
        }
    } else {
        (any.clone(), None)
    };
    if type_name(&inner.type_url) != type_name(type_url) {
        return failed(wrapper_name, format!("resource of type {:?} in a response for {type_url:?}", inner.type_url));
    }
    let bytes = inner.value.as_slice();
    let kind = type_name(type_url);
    if kind == type_name(urls::LISTENER) {
        translate::<Listener, AnyListener>(bytes, wrapper_name, |l| &l.name, |l| l.0)
    } else if kind == type_name(urls::ROUTE) {
        translate::<RouteConfiguration, RouteConfig>(bytes, wrapper_name, |r| &r.name, Resource::Route)
    } else if kind == type_name(urls::CLUSTER) {
        translate::<Cluster, ClusterConfig>(bytes, wrapper_name, |c| &c.name, Resource::Cluster)
    } else if kind == type_name(urls::ENDPOINT) {
        translate::<ClusterLoadAssignment, EndpointsConfig>(
            bytes,
            wrapper_name,
            |c| &c.cluster_name,
            Resource::Endpoints,
        )
    } else {
        failed(wrapper_name, format!("unsupported resource type {type_url:?}"))
    }
}

fn failed(name: Option<String>, reason: String) -> Decoded {
    let resource = name.clone().unwrap_or_default();
    Decoded { name, result: Err(ResourceError { resource, field: String::new(), reason }) }
}

fn translate<P, T>(
    bytes: &[u8],
    wrapper_name: Option<String>,
    name_of: impl Fn(&P) -> &String,
    wrap: impl Fn(T) -> Resource,
) -> Decoded
where
    P: Message + Name + Default,
    T: for<'a> TryFrom<&'a P, Error = ResourceError>,
{
    let proto = match P::decode(bytes) {
        Ok(p) => p,
        Err(e) => return failed(wrapper_name, format!("cannot decode {}: {e}", P::full_name())),
    };
    let name = name_of(&proto);
    if name.is_empty() {
        return failed(wrapper_name, "the resource has no name".into());
    }
    if let Some(w) = wrapper_name.as_ref().filter(|w| *w != name) {
        let reason = format!("the Resource wrapper is named {w:?} but the resource {name:?}");
        return failed(wrapper_name, reason);
    }
    Decoded { name: Some(name.clone()), result: T::try_from(&proto).map(wrap) }
}

/// A listener of either kind: with an `api_listener` it configures a client (a target's
/// routes); without one it is a server's inbound listener (gRFC A36: mTLS mode and RBAC).
struct AnyListener(Resource);

impl TryFrom<&Listener> for AnyListener {
    type Error = ResourceError;

    fn try_from(l: &Listener) -> Result<Self, ResourceError> {
        if l.api_listener.is_none() && (!l.filter_chains.is_empty() || l.default_filter_chain.is_some()) {
            ServerListener::try_from(l).map(|s| AnyListener(Resource::ServerListener(Box::new(s))))
        } else {
            ListenerConfig::try_from(l).map(|c| AnyListener(Resource::Listener(c)))
        }
    }
}
