//! A cluster's `transport_socket` (`envoy.transport_sockets.tls` with an
//! `UpstreamTlsContext`) → [`UpstreamTls`].
//!
//! What is honoured is what Istio's generators write and gRPC's xDS security (gRFC A29)
//! accepts: certificates and roots from certificate provider instances (mesh mTLS,
//! `ISTIO_MUTUAL`) or from files / inline PEM (`SIMPLE`, `MUTUAL`), exact URI and DNS SAN
//! matchers, and SNI. SDS secret configs, other SAN matcher kinds, CRLs, custom
//! validators and session resumption settings change what is accepted and are rejected
//! by name. A certificate provider instance must exist in the bootstrap (checked when the
//! cluster is used, as gRPC does).

use envoy_types::pb::envoy::config::core::v3::DataSource;
use envoy_types::pb::envoy::config::core::v3::TransportSocket;
use envoy_types::pb::envoy::config::core::v3::data_source::Specifier;
use envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::common_tls_context::ValidationContextType;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::subject_alt_name_matcher::SanType;
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateProviderPluginInstance, CertificateValidationContext, CommonTlsContext, UpstreamTlsContext,
};
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use mesh_core::cluster::{CertSource, SanMatch, UpstreamTls};

use super::field::{At, FieldResult, reject, unsupported};
use super::value::{is, unpack};

/// Translates a cluster's transport socket (`None` = plaintext).
pub(super) fn upstream_tls(socket: Option<&TransportSocket>) -> FieldResult<Option<UpstreamTls>> {
    let Some(socket) = socket else { return Ok(None) };
    let any = match &socket.config_type {
        Some(ConfigType::TypedConfig(any)) => any,
        None => return reject("transport_socket.typed_config", "is required"),
    };
    if !is::<UpstreamTlsContext>(any) {
        return reject(
            "transport_socket.typed_config",
            format!("only envoy.transport_sockets.tls (UpstreamTlsContext) is supported, not {}", any.type_url),
        );
    }
    let ctx: UpstreamTlsContext = unpack(any, "transport_socket.typed_config")?;
    context(&ctx).at("transport_socket.typed_config").map(Some)
}

fn context(ctx: &UpstreamTlsContext) -> FieldResult<UpstreamTls> {
    unsupported(ctx.allow_renegotiation, "allow_renegotiation", "TLS renegotiation")?;
    let common = ctx.common_tls_context.as_ref().map_or_else(CommonTlsContext::default, Clone::clone);
    let tls = common_context(&common).at("common_tls_context")?;
    let tls = UpstreamTls { sni: (!ctx.sni.is_empty()).then(|| ctx.sni.clone()), ..tls };
    tls.validate()?;
    Ok(tls)
}

fn provider(p: &CertificateProviderPluginInstance, field: &str) -> FieldResult<CertSource> {
    if p.instance_name.is_empty() {
        return reject(format!("{field}.instance_name"), "must not be empty");
    }
    Ok(CertSource::Provider { instance: p.instance_name.clone(), certificate: p.certificate_name.clone() })
}

fn file(d: Option<&DataSource>, field: &str) -> FieldResult<String> {
    match d.and_then(|d| d.specifier.as_ref()) {
        Some(Specifier::Filename(f)) if !f.is_empty() => Ok(f.clone()),
        Some(Specifier::Filename(_)) | None => reject(field, "a filename is required"),
        Some(_) => reject(field, "only filename data sources are supported (no inline or environment data)"),
    }
}

#[allow(deprecated)]
fn common_context(c: &CommonTlsContext) -> FieldResult<UpstreamTls> {
    const OLD: &str = "the deprecated certificate provider field (use tls_certificate_provider_instance)";
    unsupported(c.tls_certificate_certificate_provider.is_some(), "tls_certificate_certificate_provider", OLD)?;
    unsupported(
        c.tls_certificate_certificate_provider_instance.is_some(),
        "tls_certificate_certificate_provider_instance",
        OLD,
    )?;
    unsupported(!c.tls_certificate_sds_secret_configs.is_empty(), "tls_certificate_sds_secret_configs", "SDS")?;
    unsupported(c.custom_handshaker.is_some(), "custom_handshaker", "a custom handshaker")?;
    unsupported(c.custom_tls_certificate_selector.is_some(), "custom_tls_certificate_selector", "a custom selector")?;
    unsupported(c.key_log.is_some(), "key_log", "TLS key logging")?;
    if c.tls_certificates.len() > 1 {
        return reject("tls_certificates", "at most one certificate is supported");
    }
    let identity = match (&c.tls_certificate_provider_instance, c.tls_certificates.first()) {
        (Some(_), Some(_)) => return reject("tls_certificates", "set either tls_certificates or a provider instance"),
        (Some(p), None) => Some(provider(p, "tls_certificate_provider_instance")?),
        (None, Some(cert)) => Some(CertSource::Files {
            certificate: file(cert.certificate_chain.as_ref(), "tls_certificates[0].certificate_chain")?,
            key: Some(file(cert.private_key.as_ref(), "tls_certificates[0].private_key")?),
        }),
        (None, None) => None,
    };
    let validation = match &c.validation_context_type {
        None => None,
        Some(ValidationContextType::ValidationContext(v)) => Some((v.clone(), "validation_context")),
        Some(ValidationContextType::CombinedValidationContext(cv)) => {
            const OLD_CA: &str = "the deprecated provider field (use ca_certificate_provider_instance)";
            unsupported(
                cv.validation_context_certificate_provider.is_some(),
                "combined_validation_context.validation_context_certificate_provider",
                OLD_CA,
            )?;
            unsupported(
                cv.validation_context_certificate_provider_instance.is_some(),
                "combined_validation_context.validation_context_certificate_provider_instance",
                OLD_CA,
            )?;
            unsupported(
                cv.validation_context_sds_secret_config.is_some(),
                "combined_validation_context.validation_context_sds_secret_config",
                "SDS",
            )?;
            cv.default_validation_context.clone().map(|v| (v, "combined_validation_context.default_validation_context"))
        }
        Some(ValidationContextType::ValidationContextSdsSecretConfig(_)) => {
            return reject("validation_context_sds_secret_config", "SDS is not supported");
        }
        Some(_) => {
            return reject(
                "validation_context_type",
                "this kind of validation context is not supported (use ca_certificate_provider_instance or trusted_ca)",
            );
        }
    };
    let (roots, sans) = match validation {
        None => (None, Vec::new()),
        Some((v, at)) => validation_context(&v).at(at)?,
    };
    Ok(UpstreamTls { identity, roots, sans, sni: None })
}

#[allow(deprecated)]
fn validation_context(v: &CertificateValidationContext) -> FieldResult<(Option<CertSource>, Vec<SanMatch>)> {
    unsupported(v.crl.is_some(), "crl", "certificate revocation lists")?;
    unsupported(v.custom_validator_config.is_some(), "custom_validator_config", "a custom validator")?;
    unsupported(!v.verify_certificate_spki.is_empty(), "verify_certificate_spki", "SPKI pinning")?;
    unsupported(!v.verify_certificate_hash.is_empty(), "verify_certificate_hash", "certificate hash pinning")?;
    unsupported(
        !v.match_subject_alt_names.is_empty(),
        "match_subject_alt_names",
        "untyped SAN matching (use match_typed_subject_alt_names)",
    )?;
    unsupported(v.trust_chain_verification != 0, "trust_chain_verification", "ACCEPT_UNTRUSTED")?;
    let roots = match (&v.ca_certificate_provider_instance, &v.trusted_ca) {
        (Some(_), Some(_)) => return reject("trusted_ca", "set either trusted_ca or ca_certificate_provider_instance"),
        (Some(p), None) => Some(provider(p, "ca_certificate_provider_instance")?),
        (None, Some(ca)) => Some(CertSource::Files { certificate: file(Some(ca), "trusted_ca")?, key: None }),
        (None, None) => return reject("", "a validation context needs trusted_ca or ca_certificate_provider_instance"),
    };
    let mut sans = Vec::new();
    for (i, m) in v.match_typed_subject_alt_names.iter().enumerate() {
        let at = format!("match_typed_subject_alt_names[{i}]");
        let Some(matcher) = &m.matcher else { return reject(format!("{at}.matcher"), "is required") };
        if matcher.ignore_case {
            return reject(format!("{at}.matcher.ignore_case"), "case-insensitive SAN matching is not supported");
        }
        let Some(MatchPattern::Exact(value)) = &matcher.match_pattern else {
            return reject(format!("{at}.matcher"), "only exact SAN matches are supported");
        };
        match SanType::try_from(m.san_type) {
            Ok(SanType::Uri) => sans.push(SanMatch::Uri(value.clone())),
            Ok(SanType::Dns) => sans.push(SanMatch::Dns(value.clone())),
            _ => return reject(format!("{at}.san_type"), "only URI and DNS SANs are supported"),
        }
    }
    Ok((roots, sans))
}
