//! Cluster TLS (`transport_socket` → `UpstreamTls`): what Istio writes is accepted, what
//! would change who is trusted and is not honoured is rejected by field.

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::core::v3::data_source::Specifier;
use envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType;
use envoy_types::pb::envoy::config::core::v3::{DataSource, TransportSocket};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::common_tls_context::{
    CombinedCertificateValidationContext, ValidationContextType,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::subject_alt_name_matcher::SanType;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateProviderPluginInstance, CertificateValidationContext, CommonTlsContext, SdsSecretConfig,
    SubjectAltNameMatcher, TlsCertificate, UpstreamTlsContext,
};
use envoy_types::pb::envoy::r#type::matcher::v3::StringMatcher;
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use mesh_core::cluster::{CertSource, SanMatch};

use super::test_protos::{eds_cluster, pack};
use super::{ClusterConfig, Resource, decode};
use crate::type_url;

fn provider(cert: &str) -> CertificateProviderPluginInstance {
    CertificateProviderPluginInstance { instance_name: "default".into(), certificate_name: cert.into() }
}

fn san(t: SanType, pattern: MatchPattern) -> SubjectAltNameMatcher {
    SubjectAltNameMatcher {
        san_type: t as i32,
        matcher: Some(StringMatcher { match_pattern: Some(pattern), ignore_case: false }),
        ..Default::default()
    }
}

/// What mesh-control writes for ISTIO_MUTUAL.
fn istio_mutual() -> UpstreamTlsContext {
    let validation = CertificateValidationContext {
        ca_certificate_provider_instance: Some(provider("ROOTCA")),
        match_typed_subject_alt_names: vec![san(
            SanType::Uri,
            MatchPattern::Exact("spiffe://cluster.local/ns/default/sa/reviews".into()),
        )],
        ..Default::default()
    };
    UpstreamTlsContext {
        common_tls_context: Some(CommonTlsContext {
            tls_certificate_provider_instance: Some(provider("default")),
            validation_context_type: Some(ValidationContextType::CombinedValidationContext(
                CombinedCertificateValidationContext {
                    default_validation_context: Some(validation),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }),
        sni: "outbound_.9080_._.reviews.default.svc.cluster.local".into(),
        ..Default::default()
    }
}

fn with_tls(ctx: &UpstreamTlsContext) -> Cluster {
    let mut c = eds_cluster("c");
    c.transport_socket = Some(TransportSocket {
        name: "envoy.transport_sockets.tls".into(),
        config_type: Some(ConfigType::TypedConfig(pack(ctx))),
    });
    c
}

fn accepted(c: &Cluster) -> ClusterConfig {
    match decode(type_url::CLUSTER, &pack(c)).result {
        Ok(Resource::Cluster(c)) => c,
        other => panic!("{other:?}"),
    }
}

fn rejected(c: &Cluster) -> String {
    let e = decode(type_url::CLUSTER, &pack(c)).result.expect_err("rejected");
    e.field
}

#[test]
fn istio_mutual_is_mesh_tls_with_the_listed_identities() {
    let c = accepted(&with_tls(&istio_mutual()));
    let tls = c.tls.expect("tls");
    assert!(tls.is_mesh());
    assert_eq!(tls.identity, Some(CertSource::Provider { instance: "default".into(), certificate: "default".into() }));
    assert_eq!(tls.roots, Some(CertSource::Provider { instance: "default".into(), certificate: "ROOTCA".into() }));
    assert_eq!(tls.sans, vec![SanMatch::Uri("spiffe://cluster.local/ns/default/sa/reviews".into())]);
    assert_eq!(tls.sni.as_deref(), Some("outbound_.9080_._.reviews.default.svc.cluster.local"));
    assert!(accepted(&eds_cluster("c")).tls.is_none(), "no socket: plaintext");
}

#[test]
fn files_for_simple_and_mutual() {
    let file = |p: &str| Some(DataSource { specifier: Some(Specifier::Filename(p.into())), ..Default::default() });
    let ctx = UpstreamTlsContext {
        common_tls_context: Some(CommonTlsContext {
            tls_certificates: vec![TlsCertificate {
                certificate_chain: file("/c.pem"),
                private_key: file("/k.pem"),
                ..Default::default()
            }],
            validation_context_type: Some(ValidationContextType::ValidationContext(CertificateValidationContext {
                trusted_ca: file("/ca.pem"),
                match_typed_subject_alt_names: vec![san(SanType::Dns, MatchPattern::Exact("api.example.com".into()))],
                ..Default::default()
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    let tls = accepted(&with_tls(&ctx)).tls.expect("tls");
    assert!(!tls.is_mesh());
    assert_eq!(tls.identity, Some(CertSource::Files { certificate: "/c.pem".into(), key: Some("/k.pem".into()) }));
    assert_eq!(tls.roots, Some(CertSource::Files { certificate: "/ca.pem".into(), key: None }));
    assert_eq!(tls.sans, vec![SanMatch::Dns("api.example.com".into())]);
}

#[test]
fn what_would_change_trust_is_rejected_by_field() {
    let at = "transport_socket.typed_config.common_tls_context";
    let mut sds = istio_mutual();
    sds.common_tls_context.as_mut().unwrap().tls_certificate_sds_secret_configs = vec![SdsSecretConfig::default()];
    assert_eq!(rejected(&with_tls(&sds)), format!("{at}.tls_certificate_sds_secret_configs"));

    let mut prefix = istio_mutual();
    if let Some(ValidationContextType::CombinedValidationContext(cv)) =
        &mut prefix.common_tls_context.as_mut().unwrap().validation_context_type
    {
        cv.default_validation_context.as_mut().unwrap().match_typed_subject_alt_names =
            vec![san(SanType::Uri, MatchPattern::Prefix("spiffe://".into()))];
    }
    assert_eq!(
        rejected(&with_tls(&prefix)),
        format!("{at}.combined_validation_context.default_validation_context.match_typed_subject_alt_names[0].matcher")
    );

    let mut inline = istio_mutual();
    inline.common_tls_context.as_mut().unwrap().tls_certificate_provider_instance = None;
    inline.common_tls_context.as_mut().unwrap().tls_certificates = vec![TlsCertificate {
        certificate_chain: Some(DataSource {
            specifier: Some(Specifier::InlineString("pem".into())),
            ..Default::default()
        }),
        ..Default::default()
    }];
    assert_eq!(rejected(&with_tls(&inline)), format!("{at}.tls_certificates[0].certificate_chain"));

    let mut renegotiate = istio_mutual();
    renegotiate.allow_renegotiation = true;
    assert_eq!(rejected(&with_tls(&renegotiate)), "transport_socket.typed_config.allow_renegotiation");

    let mut other = eds_cluster("c");
    other.transport_socket = Some(TransportSocket {
        name: "raw".into(),
        config_type: Some(ConfigType::TypedConfig(pack(&Cluster::default()))),
    });
    assert_eq!(rejected(&other), "transport_socket.typed_config");
}
