/// The result of one attempt, as charged to the endpoint that served it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallResult {
    /// The endpoint answered with this HTTP status (for a gRPC trailers-only response,
    /// its `grpc-status` mapped by [`grpc_status_to_http`]). Also tells that the
    /// connection worked.
    Response(u16),
    /// The connection could not be established, or the stream was reset or refused
    /// (Envoy's `LOCAL_ORIGIN_CONNECT_FAILED`; a 503 when not split).
    ConnectFailed,
    /// The attempt timed out waiting for the endpoint (Envoy's `LOCAL_ORIGIN_TIMEOUT`;
    /// a 504 when not split).
    Timeout,
}

/// The HTTP status Envoy charges for a gRPC status (its `grpcToHttpStatus`).
pub fn grpc_status_to_http(code: u32) -> u16 {
    match code {
        0 => 200,
        1 => 499,
        3 | 9 | 11 => 400,
        4 => 504,
        5 => 404,
        6 | 10 => 409,
        7 => 403,
        8 => 429,
        12 => 501,
        14 => 503,
        16 => 401,
        // UNKNOWN, INTERNAL, DATA_LOSS and anything unknown.
        _ => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_statuses_map_like_envoy() {
        assert_eq!(grpc_status_to_http(14), 503, "UNAVAILABLE is a gateway error");
        assert_eq!(grpc_status_to_http(4), 504);
        assert_eq!(grpc_status_to_http(13), 500);
        assert_eq!(grpc_status_to_http(0), 200);
        assert_eq!(grpc_status_to_http(5), 404);
        assert_eq!(grpc_status_to_http(99), 500);
    }
}
