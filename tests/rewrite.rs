//! Route changes end to end over a real HTTP backend: request and response header
//! mutations, prefix and host rewrites, and redirects answered by the client itself.

mod common;

use common::*;
use mesh_testkit::Backend;

const ROUTES: &str = r#"      - name: redirect
        match: { prefix: /old/ }
        route: { redirect: { host: new.example, prefix: /new/, code: 301 } }
      - name: redirect-308
        match: { path: /moved }
        route: { redirect: { scheme: https, path: /here, code: 308 } }
      - name: api
        match: { prefix: /api/ }
        route:
          destinations: [{ cluster: svc }]
          rewrite: { prefix: /v2/, authority: "backend.internal:9000" }
      - name: rest
        route:
          destinations: [{ cluster: svc }]
          request_headers:
            set: { x-test-set: replaced }
            add: { x-test-add: added }
            remove: [x-test-gone]
          response_headers:
            set: { x-served-by: mesh }
            add: { x-extra: "1" }
            remove: [x-body-len]
"#;

fn header(r: &(http::StatusCode, http::HeaderMap, bytes::Bytes), name: &str) -> Option<String> {
    let all: Vec<&str> = r.1.get_all(name).iter().map(|v| v.to_str().expect("ascii header")).collect();
    (!all.is_empty()).then(|| all.join(","))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_rewrites_and_redirects() {
    let backend = Backend::http("v1").await.unwrap();
    let ch = channel(&handle(&config(ROUTES, &[&backend], "")));

    // Request header set (replaces), add (appends), remove; response headers changed.
    let req = http::Request::get("http://svc/plain?q=1")
        .header("x-test-set", "original")
        .header("x-test-add", "mine")
        .header("x-test-gone", "bye")
        .body(Default::default())
        .unwrap();
    let r = http(&ch, req).await.unwrap();
    assert_eq!(r.0, http::StatusCode::OK);
    assert_eq!(header(&r, "x-seen-x-test-set").as_deref(), Some("replaced"));
    assert_eq!(header(&r, "x-seen-x-test-add").as_deref(), Some("mine,added"));
    assert_eq!(header(&r, "x-seen-x-test-gone"), None);
    assert_eq!(header(&r, "x-seen-path").as_deref(), Some("/plain?q=1"));
    assert_eq!(header(&r, "x-served-by").as_deref(), Some("mesh"), "response header set");
    assert_eq!(header(&r, "x-extra").as_deref(), Some("1"), "response header added");
    assert_eq!(header(&r, "x-body-len"), None, "response header removed");
    assert_eq!(header(&r, "x-seen-host").as_deref(), Some("svc"));

    // Prefix rewrite /api/ → /v2/ (query kept) and host rewrite.
    let r = http(&ch, get("http://svc/api/items/7?x=y")).await.unwrap();
    assert_eq!(r.0, http::StatusCode::OK);
    assert_eq!(header(&r, "x-seen-path").as_deref(), Some("/v2/items/7?x=y"));
    assert_eq!(header(&r, "x-seen-host").as_deref(), Some("backend.internal:9000"));
    assert_eq!(header(&r, "x-served-by").as_deref(), Some("v1"), "no response mutation on this route");

    // Redirects are answered by the client; the backend is not called.
    let hits = backend.state().hits();
    let r = http(&ch, get("http://svc/old/page?a=1")).await.unwrap();
    assert_eq!(r.0, http::StatusCode::MOVED_PERMANENTLY);
    assert_eq!(header(&r, "location").as_deref(), Some("http://new.example/new/page?a=1"));
    let r = http(&ch, get("http://svc:8080/moved")).await.unwrap();
    assert_eq!(r.0, http::StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&r, "location").as_deref(), Some("https://svc/here"));
    assert_eq!(backend.state().hits(), hits, "redirects never reach the backend");
}
