//! Protobuf building blocks shared by every resource: durations, fractions, `Any`
//! payloads and config sources.

use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::ConfigSource;
use envoy_types::pb::envoy::config::core::v3::config_source::ConfigSourceSpecifier;
use envoy_types::pb::envoy::r#type::v3::FractionalPercent;
use envoy_types::pb::envoy::r#type::v3::fractional_percent::DenominatorType;
use envoy_types::pb::google::protobuf::{Any, Duration as PbDuration};
use mesh_core::fault::Percent;
use prost::{Message, Name};

use super::field::{FieldResult, reject};

/// Nested `Any`s decoded within one resource at most (typed LB policies wrap each
/// other); bounds the work and the stack whatever the bytes.
pub(super) const MAX_NESTING: usize = 8;

/// The fully-qualified message name of a type URL (what follows the last `/`).
pub(super) fn type_name(type_url: &str) -> &str {
    type_url.rsplit_once('/').map_or(type_url, |(_, name)| name)
}

/// Whether `any` holds an `M`.
pub(super) fn is<M: Name>(any: &Any) -> bool {
    type_name(&any.type_url) == M::full_name()
}

/// Decodes the `M` inside `any`; `field` names the `Any`.
pub(super) fn unpack<M: Message + Name + Default>(any: &Any, field: &str) -> FieldResult<M> {
    if !is::<M>(any) {
        return reject(field, format!("expected a {}, got {:?}", M::full_name(), any.type_url));
    }
    M::decode(any.value.as_slice()).or_else(|e| reject(field, format!("cannot decode {}: {e}", M::full_name())))
}

/// A protobuf duration (must not be negative).
pub(super) fn duration(d: &PbDuration, field: &str) -> FieldResult<Duration> {
    if d.seconds < 0 || !(0..1_000_000_000).contains(&d.nanos) {
        return reject(field, format!("{}s {}ns is not a valid non-negative duration", d.seconds, d.nanos));
    }
    Ok(Duration::new(d.seconds.unsigned_abs(), d.nanos.unsigned_abs()))
}

/// An optional duration where 0 means "none" (Envoy's convention for timeouts).
pub(super) fn timeout(d: Option<&PbDuration>, field: &str) -> FieldResult<Option<Duration>> {
    Ok(d.map(|d| duration(d, field)).transpose()?.filter(|d| !d.is_zero()))
}

/// A `FractionalPercent` as a percentage; unset is 0 % (as Envoy's fault filter), a
/// numerator above the denominator is 100 %.
pub(super) fn fraction(p: Option<&FractionalPercent>, field: &str) -> FieldResult<Percent> {
    let value = match p {
        None => 0.0,
        Some(p) => {
            let per_percent = match DenominatorType::try_from(p.denominator) {
                Ok(DenominatorType::Hundred) => 1.0,
                Ok(DenominatorType::TenThousand) => 100.0,
                Ok(DenominatorType::Million) => 10_000.0,
                Err(_) => {
                    return reject(format!("{field}.denominator"), format!("unknown denominator {}", p.denominator));
                }
            };
            (f64::from(p.numerator) / per_percent).min(100.0)
        }
    };
    Percent::new(value).or_else(|e| reject(field, e.reason))
}

/// Checks that a resource referenced from another comes from the ADS stream: a config
/// source of `ads` or `self`, or none.
pub(super) fn config_source(source: Option<&ConfigSource>, field: &str) -> FieldResult<()> {
    match source.and_then(|s| s.config_source_specifier.as_ref()) {
        None | Some(ConfigSourceSpecifier::Ads(_) | ConfigSourceSpecifier::Self_(_)) => Ok(()),
        Some(_) => reject(field, "only `ads` and `self` config sources are supported (resources come over ADS)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pct(numerator: u32, d: DenominatorType) -> f64 {
        let p = FractionalPercent { numerator, denominator: d as i32 };
        fraction(Some(&p), "p").expect("valid").value()
    }

    #[test]
    fn fractions() {
        assert_eq!(pct(50, DenominatorType::Hundred), 50.0);
        assert_eq!(pct(2_500, DenominatorType::TenThousand), 25.0);
        assert_eq!(pct(10, DenominatorType::Million), 0.001);
        assert_eq!(pct(500, DenominatorType::Hundred), 100.0, "clamped");
        assert_eq!(fraction(None, "p").expect("valid").value(), 0.0);
        let bad = FractionalPercent { numerator: 1, denominator: 7 };
        assert_eq!(fraction(Some(&bad), "p").expect_err("bad").field, "p.denominator");
    }

    #[test]
    fn durations() {
        let d = |seconds, nanos| PbDuration { seconds, nanos };
        assert_eq!(duration(&d(1, 500_000_000), "t").ok(), Some(Duration::from_millis(1500)));
        assert!(duration(&d(-1, 0), "t").is_err());
        assert!(duration(&d(0, -1), "t").is_err());
        assert!(duration(&d(0, 1_000_000_000), "t").is_err());
        assert_eq!(duration(&d(i64::MAX, 999_999_999), "t").map(|d| d.as_secs()).ok(), Some(i64::MAX as u64));
        assert_eq!(timeout(Some(&d(0, 0)), "t").ok(), Some(None));
        assert_eq!(timeout(None, "t").ok(), Some(None));
    }

    #[test]
    fn type_names() {
        assert_eq!(type_name("type.googleapis.com/a.b.C"), "a.b.C");
        assert_eq!(type_name("a.b.C"), "a.b.C");
        assert_eq!(type_name("x/y/a.b.C"), "a.b.C");
    }
}
