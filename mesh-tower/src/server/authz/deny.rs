//! The responses of a refused request, in the caller's protocol.

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;

pub(super) fn is_grpc<B>(req: &Request<B>) -> bool {
    req.headers().get(http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// gRPC trailers-only response with `code` and `message`.
fn grpc(code: tonic::Code, message: &str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    let h = res.headers_mut();
    h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    h.insert("grpc-status", HeaderValue::from(code as i32));
    if let Ok(v) = HeaderValue::from_str(message) {
        h.insert("grpc-message", v);
    }
    res
}

fn http(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body.to_string())));
    *res.status_mut() = status;
    res.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    res
}

/// 403 / PERMISSION_DENIED, with Envoy's body text.
pub(super) fn forbidden(grpc_request: bool) -> Response<Full<Bytes>> {
    if grpc_request {
        grpc(tonic::Code::PermissionDenied, "RBAC: access denied")
    } else {
        http(StatusCode::FORBIDDEN, "RBAC: access denied")
    }
}

/// 400 / INVALID_ARGUMENT for a path that cannot be normalized safely.
pub(super) fn bad_path(grpc_request: bool, why: &str) -> Response<Full<Bytes>> {
    if grpc_request { grpc(tonic::Code::InvalidArgument, why) } else { http(StatusCode::BAD_REQUEST, why) }
}
