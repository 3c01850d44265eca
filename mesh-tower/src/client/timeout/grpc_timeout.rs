use std::time::Duration;

use http::HeaderValue;

/// Parses a `grpc-timeout` value (at most 8 digits and a unit: `H M S m u n`).
/// Returns `None` for a malformed value, which gRPC says to treat as no deadline.
pub fn parse_grpc_timeout(v: &[u8]) -> Option<Duration> {
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b"H" => Duration::from_secs(n * 3600),
        b"M" => Duration::from_secs(n * 60),
        b"S" => Duration::from_secs(n),
        b"m" => Duration::from_millis(n),
        b"u" => Duration::from_micros(n),
        b"n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Encodes a duration as `grpc-timeout` with the finest unit that fits in 8 digits,
/// rounding up to that unit.
pub fn encode_grpc_timeout(d: Duration) -> HeaderValue {
    const MAX: u128 = 99_999_999;
    let nanos = d.as_nanos();
    let units: [(u128, &str); 6] = [
        (1, "n"),
        (1_000, "u"),
        (1_000_000, "m"),
        (1_000_000_000, "S"),
        (60_000_000_000, "M"),
        (3_600_000_000_000, "H"),
    ];
    for (scale, unit) in units {
        let v = nanos.div_ceil(scale);
        if v <= MAX {
            return HeaderValue::from_str(&format!("{v}{unit}")).unwrap_or(HeaderValue::from_static("99999999H"));
        }
    }
    HeaderValue::from_static("99999999H")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for d in [Duration::from_millis(1500), Duration::from_nanos(7), Duration::from_secs(86_400 * 30)] {
            let enc = encode_grpc_timeout(d);
            let back = parse_grpc_timeout(enc.as_bytes()).expect("parses");
            assert!(back >= d, "{d:?} -> {enc:?} -> {back:?}");
        }
        assert_eq!(parse_grpc_timeout(b"100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout(b"123456789m"), None);
        assert_eq!(parse_grpc_timeout(b"10x"), None);
        assert_eq!(parse_grpc_timeout(b""), None);
    }
}
