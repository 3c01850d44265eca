//! Fault injection: the fault filter's `HTTPFault`, from the listener's filter chain or
//! from a route's, virtual host's or route configuration's `typed_per_filter_config`.
//!
//! Per-filter configs are keyed by the filter *instance* name, which is only known to the
//! listener; since routes arrive separately (RDS), any value whose type is `HTTPFault`
//! (bare or inside a `FilterConfig`) is taken as the fault config whatever its key. The
//! most specific level wins (route, then virtual host, then route configuration), as in
//! Envoy. An `HTTPFault` with neither delay nor abort, or a `FilterConfig` that disables
//! it, yields an empty [`FaultPolicy`]: "no fault here", which also overrides the
//! listener's default. Unlike Envoy, a route's fault config applies even if the listener
//! has no fault filter (proxyless control planes always pair them).

use std::collections::HashMap;

use envoy_types::pb::envoy::config::route::v3::FilterConfig;
use envoy_types::pb::envoy::extensions::filters::common::fault::v3::fault_delay::FaultDelaySecifier;
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::HttpFault;
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::fault_abort::ErrorType;
use envoy_types::pb::google::protobuf::Any;
use mesh_core::fault::{AbortKind, FaultAbort, FaultDelay, FaultPolicy};

use super::field::{At, FieldResult, reject, unsupported};
use super::value::{duration, fraction, is, type_name, unpack};

/// Translates an `HTTPFault`; the policy may be empty (no delay, no abort).
pub(super) fn http_fault(f: &HttpFault) -> FieldResult<FaultPolicy> {
    unsupported(!f.upstream_cluster.is_empty(), "upstream_cluster", "restricting faults to an upstream cluster")?;
    unsupported(!f.headers.is_empty(), "headers", "restricting faults by headers")?;
    unsupported(!f.downstream_nodes.is_empty(), "downstream_nodes", "restricting faults to downstream nodes")?;
    unsupported(f.max_active_faults.is_some(), "max_active_faults", "max_active_faults")?;
    unsupported(f.response_rate_limit.is_some(), "response_rate_limit", "response rate limiting")?;
    let delay = match &f.delay {
        None => None,
        Some(d) => {
            let duration = match &d.fault_delay_secifier {
                Some(FaultDelaySecifier::FixedDelay(t)) => duration(t, "delay.fixed_delay")?,
                Some(FaultDelaySecifier::HeaderDelay(_)) => {
                    return reject("delay.header_delay", "delays controlled by request headers are not supported");
                }
                None => return reject("delay", "fixed_delay is required"),
            };
            Some(FaultDelay { duration, percentage: fraction(d.percentage.as_ref(), "delay.percentage")? })
        }
    };
    let abort = match &f.abort {
        None => None,
        Some(a) => {
            unsupported(!a.response_body.is_empty(), "abort.response_body", "a custom abort body")?;
            let kind = match a.error_type {
                Some(ErrorType::HttpStatus(s)) => AbortKind::Http(
                    u16::try_from(s)
                        .or_else(|_| reject("abort.http_status", format!("{s} is not within [200, 599]")))?,
                ),
                Some(ErrorType::GrpcStatus(c)) => AbortKind::Grpc(
                    u8::try_from(c).or_else(|_| reject("abort.grpc_status", format!("{c} is not a gRPC code")))?,
                ),
                Some(ErrorType::HeaderAbort(_)) => {
                    return reject("abort.header_abort", "aborts controlled by request headers are not supported");
                }
                None => return reject("abort", "one of http_status or grpc_status is required"),
            };
            Some(FaultAbort::new(kind, fraction(a.percentage.as_ref(), "abort.percentage")?).at("abort")?)
        }
    };
    Ok(FaultPolicy { delay, abort })
}

/// The fault config among a `typed_per_filter_config` map, if any. Other filters'
/// configs are rejected unless wrapped in a `FilterConfig` marked `is_optional`.
pub(super) fn per_filter_fault(configs: &HashMap<String, Any>) -> FieldResult<Option<FaultPolicy>> {
    let mut keys: Vec<&String> = configs.keys().collect();
    keys.sort();
    let mut found: Option<FaultPolicy> = None;
    for key in keys {
        let Some(any) = configs.get(key) else { continue };
        let at = format!("typed_per_filter_config[{key}]");
        let policy = if is::<HttpFault>(any) {
            let fault: HttpFault = unpack(any, &at)?;
            http_fault(&fault).at(&at)?
        } else if is::<FilterConfig>(any) {
            let fc: FilterConfig = unpack(any, &at)?;
            match &fc.config {
                Some(inner) if is::<HttpFault>(inner) && fc.disabled => FaultPolicy::default(),
                Some(inner) if is::<HttpFault>(inner) => {
                    let at = format!("{at}.config");
                    let fault: HttpFault = unpack(inner, &at)?;
                    http_fault(&fault).at(&at)?
                }
                _ if fc.is_optional => continue,
                Some(inner) => return reject(at, unsupported_config(key, &inner.type_url)),
                None => {
                    return reject(at, format!("a FilterConfig without config for filter {key:?} is not supported"));
                }
            }
        } else {
            return reject(at, unsupported_config(key, &any.type_url));
        };
        if found.replace(policy).is_some() {
            return reject(at, "more than one fault config at the same level");
        }
    }
    Ok(found)
}

fn unsupported_config(key: &str, type_url: &str) -> String {
    format!(
        "per-route config of filter {key:?} ({}) is not supported; wrap it in a FilterConfig with is_optional to ignore it",
        type_name(type_url)
    )
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::extensions::filters::common::fault::v3::FaultDelay as PbDelay;
    use envoy_types::pb::envoy::extensions::filters::http::fault::v3::FaultAbort as PbAbort;
    use envoy_types::pb::envoy::r#type::v3::FractionalPercent;
    use envoy_types::pb::google::protobuf::{Duration as PbDuration, UInt32Value};
    use std::time::Duration;

    use super::super::test_protos::{abort_fault, pack};
    use super::*;

    #[test]
    fn delay_and_abort() {
        let f = HttpFault {
            delay: Some(PbDelay {
                percentage: Some(FractionalPercent { numerator: 1500, denominator: 1 }),
                fault_delay_secifier: Some(FaultDelaySecifier::FixedDelay(PbDuration { seconds: 7, nanos: 0 })),
            }),
            abort: Some(PbAbort {
                percentage: Some(FractionalPercent { numerator: 100, denominator: 0 }),
                error_type: Some(ErrorType::GrpcStatus(14)),
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = http_fault(&f).expect("valid");
        let delay = p.delay.expect("delay");
        assert_eq!(delay.duration, Duration::from_secs(7));
        assert_eq!(delay.percentage.value(), 15.0);
        let abort = p.abort.expect("abort");
        assert_eq!(abort.kind, AbortKind::Grpc(14));
        assert_eq!(abort.percentage.value(), 100.0);
    }

    #[test]
    fn rejected_fault_fields() {
        let cases: Vec<(HttpFault, &str)> = vec![
            (HttpFault { upstream_cluster: "x".into(), ..Default::default() }, "upstream_cluster"),
            (
                HttpFault { max_active_faults: Some(UInt32Value { value: 1 }), ..Default::default() },
                "max_active_faults",
            ),
            (
                HttpFault {
                    abort: Some(PbAbort { error_type: Some(ErrorType::HttpStatus(700)), ..Default::default() }),
                    ..Default::default()
                },
                "abort.http_status",
            ),
            (
                HttpFault {
                    abort: Some(PbAbort { error_type: Some(ErrorType::GrpcStatus(0)), ..Default::default() }),
                    ..Default::default()
                },
                "abort.grpc_status",
            ),
            (HttpFault { abort: Some(PbAbort::default()), ..Default::default() }, "abort"),
            (HttpFault { delay: Some(PbDelay::default()), ..Default::default() }, "delay"),
        ];
        for (f, field) in cases {
            assert_eq!(http_fault(&f).expect_err(field).field, field);
        }
    }

    #[test]
    fn per_filter_configs() {
        let direct = HashMap::from([("envoy.filters.http.fault".to_string(), pack(&abort_fault(503, 10)))]);
        let p = per_filter_fault(&direct).expect("valid").expect("fault");
        assert_eq!(p.abort.map(|a| a.kind), Some(AbortKind::Http(503)));

        let wrapped = FilterConfig { config: Some(pack(&abort_fault(503, 10))), disabled: true, is_optional: false };
        let disabled = HashMap::from([("fault".to_string(), pack(&wrapped))]);
        assert_eq!(per_filter_fault(&disabled).expect("valid"), Some(FaultPolicy::default()));

        let other = FilterConfig { config: Some(pack(&UInt32Value { value: 1 })), disabled: false, is_optional: true };
        let optional = HashMap::from([("x".to_string(), pack(&other))]);
        assert_eq!(per_filter_fault(&optional).expect("valid"), None);

        let bare = HashMap::from([("x".to_string(), pack(&UInt32Value { value: 1 }))]);
        let e = per_filter_fault(&bare).expect_err("unsupported");
        assert_eq!(e.field, "typed_per_filter_config[x]");
        assert!(e.reason.contains("google.protobuf.UInt32Value"), "{e}");
    }
}
