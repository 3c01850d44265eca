//! `tls` of a DestinationRule → the cluster's `transport_socket`
//! (`envoy.transport_sockets.tls` with an `UpstreamTlsContext`).
//!
//! `ISTIO_MUTUAL` is written the way proxyless gRPC expects it (gRFC A29): certificates
//! from the bootstrap's certificate provider instance `default` (workload certificate
//! `default`, roots `ROOTCA`), no SDS, and the endpoints' SPIFFE identities
//! (`spiffe://<trust domain>/ns/<ns>/sa/<service account>`) as the accepted subject
//! alternative names when known. `SIMPLE` and `MUTUAL` use the files named in the rule.
//! `DISABLE` (or no `tls`) emits nothing.
//!
//! Mesh clients honour all three (see `mesh_xds::translate` upstream TLS); grpcio and
//! grpc-go do too, given a bootstrap with a certificate provider named `default`.

use envoy_types::pb::envoy::config::core::v3::data_source::Specifier;
use envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType;
use envoy_types::pb::envoy::config::core::v3::{DataSource, TransportSocket};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::common_tls_context::{
    CombinedCertificateValidationContext, ValidationContextType,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::subject_alt_name_matcher::SanType;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateProviderPluginInstance, CertificateValidationContext, CommonTlsContext, SubjectAltNameMatcher,
    TlsCertificate, UpstreamTlsContext,
};
use envoy_types::pb::envoy::r#type::matcher::v3::StringMatcher;
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;

use super::proto::pack;
use crate::istio::{ClientTlsMode, ClientTlsSettings};

/// The transport socket for `tls`; `identities` are the SPIFFE IDs accepted under
/// `ISTIO_MUTUAL`.
pub(crate) fn transport_socket(tls: &ClientTlsSettings, identities: &[String]) -> Option<TransportSocket> {
    let common = match tls.mode? {
        ClientTlsMode::Disable => return None,
        ClientTlsMode::IstioMutual => istio_mutual(identities),
        ClientTlsMode::Simple => files(tls, false),
        ClientTlsMode::Mutual => files(tls, true),
    };
    let context = UpstreamTlsContext {
        common_tls_context: Some(common),
        sni: tls.sni.clone().unwrap_or_default(),
        ..Default::default()
    };
    Some(TransportSocket {
        name: "envoy.transport_sockets.tls".into(),
        config_type: Some(ConfigType::TypedConfig(pack(&context))),
    })
}

fn provider(certificate_name: &str) -> CertificateProviderPluginInstance {
    CertificateProviderPluginInstance { instance_name: "default".into(), certificate_name: certificate_name.into() }
}

fn exact(san_type: SanType, value: &str) -> SubjectAltNameMatcher {
    SubjectAltNameMatcher {
        san_type: san_type as i32,
        matcher: Some(StringMatcher {
            match_pattern: Some(MatchPattern::Exact(value.to_string())),
            ignore_case: false,
        }),
        ..Default::default()
    }
}

fn istio_mutual(identities: &[String]) -> CommonTlsContext {
    let validation = CertificateValidationContext {
        ca_certificate_provider_instance: Some(provider("ROOTCA")),
        match_typed_subject_alt_names: identities.iter().map(|id| exact(SanType::Uri, id)).collect(),
        ..Default::default()
    };
    CommonTlsContext {
        tls_certificate_provider_instance: Some(provider("default")),
        validation_context_type: Some(ValidationContextType::CombinedValidationContext(
            CombinedCertificateValidationContext { default_validation_context: Some(validation), ..Default::default() },
        )),
        ..Default::default()
    }
}

fn file(path: &Option<String>) -> Option<DataSource> {
    path.as_ref().map(|p| DataSource { specifier: Some(Specifier::Filename(p.clone())), ..Default::default() })
}

fn files(tls: &ClientTlsSettings, mutual: bool) -> CommonTlsContext {
    let tls_certificates = if mutual {
        vec![TlsCertificate {
            certificate_chain: file(&tls.client_certificate),
            private_key: file(&tls.private_key),
            ..Default::default()
        }]
    } else {
        Vec::new()
    };
    let validation = (tls.insecure_skip_verify != Some(true)).then(|| CertificateValidationContext {
        trusted_ca: file(&tls.ca_certificates),
        crl: file(&tls.ca_crl),
        match_typed_subject_alt_names: tls.subject_alt_names.iter().map(|s| exact(SanType::Dns, s)).collect(),
        ..Default::default()
    });
    CommonTlsContext {
        tls_certificates,
        validation_context_type: validation.map(ValidationContextType::ValidationContext),
        ..Default::default()
    }
}
