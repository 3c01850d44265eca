//! A server filter chain's `DownstreamTlsContext` → the certificate-provider instances
//! (gRFC A29) for its identity and for the roots that verify clients.
//!
//! The mesh's TLS is mutual: a client certificate must be required and verified against
//! provider roots. Both the current fields (`tls_certificate_provider_instance`,
//! `validation_context.ca_certificate_provider_instance`) and the deprecated ones Istio's
//! gRPC generator still sends (`tls_certificate_certificate_provider_instance`,
//! `combined_validation_context.validation_context_certificate_provider_instance`) are
//! accepted. Rejected: certificates or roots from files, SDS or plugins, SNI or OCSP
//! requirements, and client-certificate checks beyond the chain of trust (SAN matchers,
//! pins, CRLs, SCTs, expired certificates, depth limits, custom validators) — each
//! would let in or keep out clients the server cannot tell apart. Cipher suites, ALPN,
//! session tickets and key logging are ignored.

use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::common_tls_context::{
    CertificateProviderInstance as LegacyInstance, ValidationContextType,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateProviderPluginInstance, CertificateValidationContext, CommonTlsContext, DownstreamTlsContext,
};
use mesh_core::authz::{CertProviderInstance, CertProviders};

use super::field::{At, FieldResult, reject, unsupported};

/// Checks a server TLS context and returns its certificate providers.
pub(super) fn downstream_tls(ctx: &DownstreamTlsContext) -> FieldResult<CertProviders> {
    if !ctx.require_client_certificate.as_ref().is_some_and(|b| b.value) {
        return reject("require_client_certificate", "must be true: the mesh's TLS is mutual");
    }
    unsupported(ctx.require_sni.as_ref().is_some_and(|b| b.value), "require_sni", "requiring SNI")?;
    unsupported(ctx.ocsp_staple_policy != 0, "ocsp_staple_policy", "OCSP stapling requirements")?;
    let Some(common) = &ctx.common_tls_context else {
        return reject("common_tls_context", "is required");
    };
    common_tls(common).at("common_tls_context")
}

// Istio's gRPC generator still sends the deprecated provider-instance fields.
#[allow(deprecated)]
fn common_tls(c: &CommonTlsContext) -> FieldResult<CertProviders> {
    const PROVIDERS_ONLY: &str = "certificates from anywhere but a certificate provider instance";
    unsupported(!c.tls_certificates.is_empty(), "tls_certificates", PROVIDERS_ONLY)?;
    unsupported(
        !c.tls_certificate_sds_secret_configs.is_empty(),
        "tls_certificate_sds_secret_configs",
        PROVIDERS_ONLY,
    )?;
    unsupported(
        c.tls_certificate_certificate_provider.is_some(),
        "tls_certificate_certificate_provider",
        PROVIDERS_ONLY,
    )?;
    unsupported(c.custom_tls_certificate_selector.is_some(), "custom_tls_certificate_selector", PROVIDERS_ONLY)?;
    unsupported(c.custom_handshaker.is_some(), "custom_handshaker", "a custom handshaker")?;
    let identity = match (&c.tls_certificate_provider_instance, &c.tls_certificate_certificate_provider_instance) {
        (Some(i), None) => instance(i).at("tls_certificate_provider_instance")?,
        (None, Some(i)) => legacy(i).at("tls_certificate_certificate_provider_instance")?,
        (Some(_), Some(_)) => {
            return reject(
                "tls_certificate_certificate_provider_instance",
                "set together with tls_certificate_provider_instance",
            );
        }
        (None, None) => return reject("tls_certificate_provider_instance", "is required"),
    };
    let roots = match &c.validation_context_type {
        Some(ValidationContextType::ValidationContext(v)) => validation(v, None).at("validation_context")?,
        Some(ValidationContextType::CombinedValidationContext(cv)) => {
            unsupported(
                cv.validation_context_sds_secret_config.is_some(),
                "combined_validation_context.validation_context_sds_secret_config",
                PROVIDERS_ONLY,
            )?;
            unsupported(
                cv.validation_context_certificate_provider.is_some(),
                "combined_validation_context.validation_context_certificate_provider",
                PROVIDERS_ONLY,
            )?;
            let legacy_roots = cv
                .validation_context_certificate_provider_instance
                .as_ref()
                .map(legacy)
                .transpose()
                .at("combined_validation_context.validation_context_certificate_provider_instance")?;
            let default = CertificateValidationContext::default();
            let v = cv.default_validation_context.as_ref().unwrap_or(&default);
            validation(v, legacy_roots).at("combined_validation_context.default_validation_context")?
        }
        Some(ValidationContextType::ValidationContextCertificateProviderInstance(i)) => {
            legacy(i).at("validation_context_certificate_provider_instance")?
        }
        Some(ValidationContextType::ValidationContextSdsSecretConfig(_)) => {
            return reject("validation_context_sds_secret_config", PROVIDERS_ONLY);
        }
        Some(ValidationContextType::ValidationContextCertificateProvider(_)) => {
            return reject("validation_context_certificate_provider", PROVIDERS_ONLY);
        }
        None => return reject("validation_context", "is required: client certificates must be verified"),
    };
    Ok(CertProviders { identity, roots })
}

/// The roots of a validation context (`legacy`: the deprecated combined-context field).
#[allow(deprecated)]
fn validation(
    v: &CertificateValidationContext,
    legacy: Option<CertProviderInstance>,
) -> FieldResult<CertProviderInstance> {
    const ROOTS: &str = "roots from anywhere but a certificate provider instance";
    const CHECKS: &str = "client-certificate checks beyond the chain of trust";
    unsupported(v.trusted_ca.is_some(), "trusted_ca", ROOTS)?;
    unsupported(v.system_root_certs.is_some(), "system_root_certs", ROOTS)?;
    unsupported(v.watched_directory.is_some(), "watched_directory", ROOTS)?;
    unsupported(!v.verify_certificate_spki.is_empty(), "verify_certificate_spki", CHECKS)?;
    unsupported(!v.verify_certificate_hash.is_empty(), "verify_certificate_hash", CHECKS)?;
    unsupported(!v.match_typed_subject_alt_names.is_empty(), "match_typed_subject_alt_names", CHECKS)?;
    unsupported(!v.match_subject_alt_names.is_empty(), "match_subject_alt_names", CHECKS)?;
    unsupported(
        v.require_signed_certificate_timestamp.as_ref().is_some_and(|b| b.value),
        "require_signed_certificate_timestamp",
        CHECKS,
    )?;
    unsupported(v.crl.is_some(), "crl", CHECKS)?;
    unsupported(v.allow_expired_certificate, "allow_expired_certificate", "accepting expired certificates")?;
    unsupported(v.trust_chain_verification != 0, "trust_chain_verification", "skipping chain verification")?;
    unsupported(v.custom_validator_config.is_some(), "custom_validator_config", CHECKS)?;
    unsupported(v.max_verify_depth.is_some(), "max_verify_depth", CHECKS)?;
    match (&v.ca_certificate_provider_instance, legacy) {
        (Some(i), None) => instance(i).at("ca_certificate_provider_instance"),
        (None, Some(l)) => Ok(l),
        (Some(_), Some(_)) => reject("ca_certificate_provider_instance", "roots are given twice"),
        (None, None) => reject("ca_certificate_provider_instance", "is required: client certificates must be verified"),
    }
}

fn instance(i: &CertificateProviderPluginInstance) -> FieldResult<CertProviderInstance> {
    named(&i.instance_name, &i.certificate_name)
}

#[allow(deprecated)]
fn legacy(i: &LegacyInstance) -> FieldResult<CertProviderInstance> {
    named(&i.instance_name, &i.certificate_name)
}

fn named(instance_name: &str, certificate_name: &str) -> FieldResult<CertProviderInstance> {
    if instance_name.is_empty() {
        return reject("instance_name", "is required");
    }
    Ok(CertProviderInstance { instance_name: instance_name.into(), certificate_name: certificate_name.into() })
}

#[cfg(test)]
mod tests {
    #![allow(deprecated)]

    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::TlsCertificate;
    use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::certificate_validation_context::TrustChainVerification;
    use envoy_types::pb::google::protobuf::BoolValue;

    use super::super::rbac::tests::prefix;
    use super::super::server_listener::tests::{istio_tls_context, provider, tls_context};
    use super::*;

    fn names(c: &CertProviderInstance) -> (&str, &str) {
        (&c.instance_name, &c.certificate_name)
    }

    #[test]
    fn both_field_generations_name_the_providers() {
        for ctx in [tls_context(), istio_tls_context()] {
            let p = downstream_tls(&ctx).expect("valid");
            assert_eq!((names(&p.identity), names(&p.roots)), (("default", "default"), ("default", "ROOTCA")));
        }
        let mut plain = tls_context();
        if let Some(c) = plain.common_tls_context.as_mut() {
            let v = CertificateValidationContext {
                ca_certificate_provider_instance: Some(provider("roots", "bundle")),
                ..Default::default()
            };
            c.validation_context_type = Some(ValidationContextType::ValidationContext(v));
        }
        assert_eq!(names(&downstream_tls(&plain).expect("valid").roots), ("roots", "bundle"));
    }

    /// Each change to a valid context, and the field its rejection names.
    #[test]
    fn rejections_name_the_field() {
        let common = |f: &dyn Fn(&mut CommonTlsContext)| {
            let mut ctx = tls_context();
            if let Some(c) = ctx.common_tls_context.as_mut() {
                f(c);
            }
            ctx
        };
        let validation = |f: &dyn Fn(&mut CertificateValidationContext)| {
            common(&|c| {
                let mut v = CertificateValidationContext {
                    ca_certificate_provider_instance: Some(provider("default", "ROOTCA")),
                    ..Default::default()
                };
                f(&mut v);
                c.validation_context_type = Some(ValidationContextType::ValidationContext(v));
            })
        };
        let cases: Vec<(DownstreamTlsContext, &str)> = vec![
            (DownstreamTlsContext { require_client_certificate: None, ..tls_context() }, "require_client_certificate"),
            (DownstreamTlsContext { require_sni: Some(BoolValue { value: true }), ..tls_context() }, "require_sni"),
            (DownstreamTlsContext { ocsp_staple_policy: 2, ..tls_context() }, "ocsp_staple_policy"),
            (DownstreamTlsContext { common_tls_context: None, ..tls_context() }, "common_tls_context"),
            (common(&|c| c.tls_certificates.push(TlsCertificate::default())), "common_tls_context.tls_certificates"),
            (
                common(&|c| c.tls_certificate_provider_instance = None),
                "common_tls_context.tls_certificate_provider_instance",
            ),
            (
                common(&|c| c.tls_certificate_provider_instance = Some(provider("", "default"))),
                "common_tls_context.tls_certificate_provider_instance.instance_name",
            ),
            (common(&|c| c.validation_context_type = None), "common_tls_context.validation_context"),
            (
                common(&|c| {
                    c.validation_context_type =
                        Some(ValidationContextType::ValidationContextSdsSecretConfig(Default::default()));
                }),
                "common_tls_context.validation_context_sds_secret_config",
            ),
            (
                validation(&|v| v.match_subject_alt_names.push(prefix("spiffe://"))),
                "common_tls_context.validation_context.match_subject_alt_names",
            ),
            (
                validation(&|v| v.trusted_ca = Some(Default::default())),
                "common_tls_context.validation_context.trusted_ca",
            ),
            (
                validation(&|v| v.trust_chain_verification = TrustChainVerification::AcceptUntrusted as i32),
                "common_tls_context.validation_context.trust_chain_verification",
            ),
            (
                validation(&|v| v.ca_certificate_provider_instance = None),
                "common_tls_context.validation_context.ca_certificate_provider_instance",
            ),
        ];
        for (ctx, field) in cases {
            assert_eq!(downstream_tls(&ctx).expect_err("must be rejected").field, field);
        }
        let mut twice = istio_tls_context();
        if let Some(ValidationContextType::CombinedValidationContext(cv)) =
            twice.common_tls_context.as_mut().and_then(|c| c.validation_context_type.as_mut())
        {
            cv.default_validation_context = Some(CertificateValidationContext {
                ca_certificate_provider_instance: Some(provider("default", "ROOTCA")),
                ..Default::default()
            });
        }
        let e = downstream_tls(&twice).expect_err("roots given twice");
        assert_eq!(
            e.field,
            "common_tls_context.combined_validation_context.default_validation_context.ca_certificate_provider_instance"
        );
    }
}
