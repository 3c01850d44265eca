//! Arbitrary bytes as the payload of each xDS resource type, bare and wrapped in a
//! `Resource`: `mesh_xds::translate::decode` must reject or accept them, never panic.
//!
//! Run with `cargo +nightly fuzz run xds_decode` from the repository root. The same code
//! path runs on stable in `mesh-xds`'s `translate::decode_tests` proptests.

#![no_main]

use envoy_types::pb::envoy::service::discovery::v3::Resource;
use envoy_types::pb::google::protobuf::Any;
use libfuzzer_sys::fuzz_target;
use mesh_xds::translate::decode;
use mesh_xds::type_url;
use prost::Message;

const TYPE_URLS: [&str; 4] = [type_url::LISTENER, type_url::ROUTE, type_url::CLUSTER, type_url::ENDPOINT];

fuzz_target!(|data: &[u8]| {
    for url in TYPE_URLS {
        let bare = Any { type_url: url.to_string(), value: data.to_vec() };
        let _ = decode(url, &bare);
        let wrapper = Resource { resource: Some(bare), ..Default::default() };
        let wrapped = Any {
            type_url: "type.googleapis.com/envoy.service.discovery.v3.Resource".to_string(),
            value: wrapper.encode_to_vec(),
        };
        let _ = decode(url, &wrapped);
    }
});
