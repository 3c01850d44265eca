//! Durations written the way Istio and protobuf JSON write them: `1.5s`, `250ms`, `2m`,
//! `1h`, `100us`, `0s`.
//!
//! Istio's API uses protobuf's `Duration` JSON form (`"0.5s"`), which `humantime` does not
//! accept, and Envoy's docs use `ms` suffixes; this small parser takes both so that one
//! notation works in every file we read.

use std::time::Duration;

use crate::ConfigError;

/// Parses a duration such as `1.5s`, `250ms`, `2m`, `1h`, `100us`.
pub fn parse_duration(s: &str) -> Result<Duration, ConfigError> {
    let t = s.trim();
    let bad = || ConfigError::new("", format!("invalid duration {s:?}: expected e.g. \"1.5s\", \"250ms\", \"2m\""));
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') || num.matches('.').count() > 1 {
        return Err(bad());
    }
    let value: f64 = num.parse().map_err(|_| bad())?;
    let scale = match unit {
        "h" => 3600.0,
        "m" => 60.0,
        "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        _ => return Err(bad()),
    };
    let secs = value * scale;
    if !secs.is_finite() || secs > 315_576_000_000.0 {
        return Err(ConfigError::new("", format!("duration {s:?} is out of range")));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_istio_and_envoy_forms() {
        assert_eq!(parse_duration("1.5s").ok(), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms").ok(), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m").ok(), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("0s").ok(), Some(Duration::ZERO));
        assert_eq!(parse_duration("100us").ok(), Some(Duration::from_micros(100)));
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "s", "1", "1.s", ".5s", "1.2.3s", "-1s", "5 parsecs", "1e3s"] {
            assert!(parse_duration(s).is_err(), "{s:?} accepted");
        }
    }
}
