//! `decode`: type URLs, the `Resource` wrapper, names, and — the same code path as the
//! `xds_decode` fuzz target — arbitrary and mutated bytes, which must never panic.

use envoy_types::pb::envoy::service::discovery::v3::Resource as Wrapper;
use envoy_types::pb::google::protobuf::Any;
use proptest::prelude::*;
use prost::Message;

use super::test_protos::*;
use super::*;
use crate::type_url;

const TYPE_URLS: [&str; 4] = [type_url::LISTENER, type_url::ROUTE, type_url::CLUSTER, type_url::ENDPOINT];

fn wrapped(name: &str, inner: Any) -> Any {
    pack(&Wrapper { name: name.into(), resource: Some(inner), ..Default::default() })
}

#[test]
fn accepts_resources_wrapped_in_resource() {
    let d = decode(type_url::CLUSTER, &wrapped("c", pack(&eds_cluster("c"))));
    assert_eq!(d.name.as_deref(), Some("c"));
    assert!(matches!(d.result, Ok(Resource::Cluster(c)) if c.name == "c"));

    let d = decode(type_url::CLUSTER, &wrapped("other", pack(&eds_cluster("c"))));
    assert_eq!(d.name.as_deref(), Some("other"));
    assert!(d.result.expect_err("names differ").reason.contains("\"other\""));

    let empty = pack(&Wrapper { name: "c".into(), ..Default::default() });
    let d = decode(type_url::CLUSTER, &empty);
    assert_eq!((d.name.as_deref(), d.result.is_err()), (Some("c"), true));
}

#[test]
fn checks_the_type_url() {
    let d = decode(type_url::ROUTE, &pack(&eds_cluster("c")));
    let e = d.result.expect_err("a cluster is not a route");
    assert!(e.reason.contains("envoy.config.cluster.v3.Cluster"), "{e}");
    let d = decode(type_url::ROUTE, &wrapped("c", pack(&eds_cluster("c"))));
    assert_eq!(d.name.as_deref(), Some("c"));
    assert!(d.result.is_err());
    let d = decode("type.googleapis.com/envoy.config.core.v3.Node", &pack(&eds_cluster("c")));
    assert!(d.result.is_err());
}

#[test]
fn reports_undecodable_bytes_and_missing_names() {
    let garbage = Any { type_url: type_url::CLUSTER.into(), value: vec![0xff; 7] };
    let d = decode(type_url::CLUSTER, &garbage);
    assert_eq!(d.name, None);
    let e = d.result.expect_err("garbage");
    assert!(e.reason.starts_with("cannot decode envoy.config.cluster.v3.Cluster"), "{e}");

    let d = decode(type_url::CLUSTER, &pack(&eds_cluster("")));
    assert_eq!(d.name, None);
    assert!(d.result.expect_err("no name").reason.contains("no name"));
}

fn valid_resources() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (type_url::LISTENER, reviews_listener().encode_to_vec()),
        (type_url::ROUTE, reviews_routes().encode_to_vec()),
        (type_url::CLUSTER, eds_cluster("c").encode_to_vec()),
        (
            type_url::ENDPOINT,
            assignment("c", vec![locality("a", 0, Some(3), vec![lb_endpoint("10.0.0.1", 80)])]).encode_to_vec(),
        ),
    ]
}

/// What the fuzz target does with its input.
fn decode_all(bytes: &[u8]) {
    for url in TYPE_URLS {
        let _ = decode(url, &Any { type_url: url.into(), value: bytes.to_vec() });
        let wrapper =
            Wrapper { resource: Some(Any { type_url: url.into(), value: bytes.to_vec() }), ..Default::default() };
        let _ = decode(url, &pack(&wrapper));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
    }

    /// Random bytes rarely get past the protobuf decoder; flipping bytes of valid
    /// resources reaches the translation code with nearly-valid, odd values.
    #[test]
    fn mutated_resources_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let (url, mut bytes) = valid_resources().swap_remove(which);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let d = decode(url, &Any { type_url: url.into(), value: bytes.clone() });
        if let Err(e) = &d.result {
            prop_assert!(!e.reason.is_empty());
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        decode_all(&bytes);
    }
}
