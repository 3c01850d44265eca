//! Protobuf building blocks: packing into `Any`, the ADS config source, durations and
//! percentages in Envoy's forms.

use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::config_source::ConfigSourceSpecifier;
use envoy_types::pb::envoy::config::core::v3::{AggregatedConfigSource, ConfigSource};
use envoy_types::pb::envoy::r#type::v3::FractionalPercent;
use envoy_types::pb::envoy::r#type::v3::fractional_percent::DenominatorType;
use envoy_types::pb::google::protobuf::{Any, Duration as PbDuration};
use prost::{Message, Name};

/// Packs a message into an `Any` (`type.googleapis.com/<full name>`). prost encodes
/// fields in tag order, so equal messages give equal bytes — as long as their map fields
/// hold at most one entry (maps iterate in hash order); the translation keeps it so.
pub(crate) fn pack<M: Message + Name>(m: &M) -> Any {
    Any { type_url: M::type_url(), value: m.encode_to_vec() }
}

/// "Fetch it over the same ADS stream."
pub(crate) fn ads() -> ConfigSource {
    ConfigSource {
        config_source_specifier: Some(ConfigSourceSpecifier::Ads(AggregatedConfigSource {})),
        ..Default::default()
    }
}

/// A protobuf duration.
pub(crate) fn duration(d: Duration) -> PbDuration {
    PbDuration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// A percentage (`0.0..=100.0`) as Envoy's `FractionalPercent` per million, as Istio
/// translates its `Percent`.
pub(crate) fn per_million(percent: f64) -> FractionalPercent {
    let numerator = (percent.clamp(0.0, 100.0) * 10_000.0).round() as u32;
    FractionalPercent { numerator, denominator: DenominatorType::Million as i32 }
}

/// An integer percentage as a `FractionalPercent` per hundred (Istio's deprecated
/// integer `percent` fields).
pub(crate) fn per_hundred(percent: i32) -> FractionalPercent {
    FractionalPercent {
        numerator: u32::try_from(percent.clamp(0, 100)).unwrap_or(0),
        denominator: DenominatorType::Hundred as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_durations() {
        assert_eq!(per_million(0.1).numerator, 1_000);
        assert_eq!(per_million(100.0).numerator, 1_000_000);
        assert_eq!(per_hundred(100).numerator, 100);
        let d = duration(Duration::from_millis(1500));
        assert_eq!((d.seconds, d.nanos), (1, 500_000_000));
    }
}
