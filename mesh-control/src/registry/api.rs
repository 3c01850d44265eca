//! The registration HTTP API (documented in the [module docs](super)): axum routes over any
//! [`Registry`].

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::{Registered, Registry, RegistryError, WorkloadInstance};

/// Fields a registration may have, in documentation order.
const FIELDS: [&str; 8] =
    ["service", "namespace", "address", "ports", "labels", "weight", "locality", "service_account"];

/// The routes `POST|GET /v1/registrations`, `DELETE /v1/registrations?service=&address=` and
/// `DELETE /v1/registrations/{service}/{address}`, ready to be merged into a server's router.
pub fn routes(registry: Arc<dyn Registry>) -> Router {
    Router::new()
        .route("/v1/registrations", get(list).post(register).delete(deregister_query))
        .route("/v1/registrations/{service}/{address}", delete(deregister_path))
        .with_state(registry)
}

async fn list(State(registry): State<Arc<dyn Registry>>) -> Response {
    json_response(StatusCode::OK, &registry.list())
}

async fn register(State(registry): State<Arc<dyn Registry>>, body: Bytes) -> Response {
    let instance = match parse_registration(&body) {
        Ok(instance) => instance,
        Err(error) => return error_response(&error),
    };
    match registry.register(instance.clone()).await {
        Ok(Registered::Created) => json_response(StatusCode::CREATED, &instance),
        Ok(Registered::Replaced | Registered::Unchanged) => json_response(StatusCode::OK, &instance),
        Err(error) => error_response(&error),
    }
}

async fn deregister_query(State(registry): State<Arc<dyn Registry>>, RawQuery(query): RawQuery) -> Response {
    let params = parse_query(query.as_deref().unwrap_or_default());
    let Some(service) = params.get("service") else {
        return error_response(&RegistryError::invalid("service", "query parameter `service` is required"));
    };
    let Some(address) = params.get("address") else {
        return error_response(&RegistryError::invalid("address", "query parameter `address` is required"));
    };
    deregister(registry.as_ref(), service, address).await
}

async fn deregister_path(
    State(registry): State<Arc<dyn Registry>>,
    Path((service, address)): Path<(String, String)>,
) -> Response {
    deregister(registry.as_ref(), &service, &address).await
}

async fn deregister(registry: &dyn Registry, service: &str, address: &str) -> Response {
    let Ok(ip) = address.parse::<IpAddr>() else {
        return error_response(&RegistryError::invalid("address", format!("{address:?} is not an IP address")));
    };
    match registry.deregister(service, ip).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no registration of service {service:?} at address {ip}") }),
        ),
        Err(error) => error_response(&error),
    }
}

/// Parses a registration body, field by field, so that every error names its field.
fn parse_registration(body: &[u8]) -> Result<WorkloadInstance, RegistryError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| RegistryError::invalid("body", format!("invalid JSON: {e}")))?;
    let Value::Object(mut object) = value else {
        return Err(RegistryError::invalid("body", "expected a JSON object"));
    };
    let instance = WorkloadInstance {
        service: required(&mut object, "service")?,
        namespace: optional(&mut object, "namespace")?.unwrap_or_else(|| "default".to_owned()),
        address: required(&mut object, "address")?,
        ports: required(&mut object, "ports")?,
        labels: optional::<BTreeMap<String, String>>(&mut object, "labels")?.unwrap_or_default(),
        weight: optional(&mut object, "weight")?.unwrap_or(1),
        locality: optional(&mut object, "locality")?.unwrap_or_default(),
        service_account: optional(&mut object, "service_account")?.unwrap_or_default(),
    };
    if let Some(unknown) = object.keys().next() {
        let expected = FIELDS.join(", ");
        return Err(RegistryError::invalid(unknown.as_str(), format!("unknown field (expected one of: {expected})")));
    }
    super::validate(&instance)?;
    Ok(instance)
}

fn required<T: DeserializeOwned>(object: &mut Map<String, Value>, field: &str) -> Result<T, RegistryError> {
    optional(object, field)?.ok_or_else(|| RegistryError::invalid(field, "missing (required)"))
}

fn optional<T: DeserializeOwned>(object: &mut Map<String, Value>, field: &str) -> Result<Option<T>, RegistryError> {
    match object.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            serde_json::from_value(value).map(Some).map_err(|e| RegistryError::invalid(field, e.to_string()))
        }
    }
}

/// `application/x-www-form-urlencoded` query pairs (the last value of a repeated key wins).
fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(key)?, percent_decode(value)?))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (space); `None` if the result is not UTF-8 or an escape is
/// malformed.
fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = [input.next()?, input.next()?];
                bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

fn error_response(error: &RegistryError) -> Response {
    match error {
        RegistryError::Invalid { field, .. } => {
            json_response(StatusCode::BAD_REQUEST, &json!({ "field": field, "error": error.to_string() }))
        }
        RegistryError::Unavailable(_) => {
            json_response(StatusCode::SERVICE_UNAVAILABLE, &json!({ "error": error.to_string() }))
        }
    }
}

/// A JSON response (pretty-printed: it is read by people with curl as often as by programs).
pub(crate) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_string_pretty(body) {
        Ok(mut text) => {
            text.push('\n');
            (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode JSON: {e}\n")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(body: &str) -> String {
        match parse_registration(body.as_bytes()) {
            Err(RegistryError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn minimal_registration_gets_defaults() {
        let body =
            r#"{"service": "reviews.default.svc.cluster.local", "address": "10.0.0.7", "ports": {"http": 9080}}"#;
        let instance = parse_registration(body.as_bytes()).unwrap();
        assert_eq!(instance.namespace, "default");
        assert_eq!(instance.weight, 1);
        assert!(instance.labels.is_empty());
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of("[]"), "body");
        assert_eq!(field_of("{"), "body");
        assert_eq!(field_of(r#"{"address": "10.0.0.7", "ports": {"http": 1}}"#), "service");
        assert_eq!(field_of(r#"{"service": "a", "address": "10.0.0", "ports": {"http": 1}}"#), "address");
        assert_eq!(field_of(r#"{"service": "a", "address": "10.0.0.7", "ports": {"http": 70000}}"#), "ports");
        assert_eq!(field_of(r#"{"service": "a", "address": "10.0.0.7", "ports": {"http": 0}}"#), "ports.http");
        assert_eq!(field_of(r#"{"service": "a", "address": "10.0.0.7", "ports": {"h": 1}, "wieght": 2}"#), "wieght");
    }

    #[test]
    fn query_strings_are_decoded() {
        let params = parse_query("service=reviews.default&address=fe80%3A%3A1&x");
        assert_eq!(params["service"], "reviews.default");
        assert_eq!(params["address"], "fe80::1");
        assert_eq!(params["x"], "");
    }
}
