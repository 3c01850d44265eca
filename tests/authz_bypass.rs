//! Authorization cannot be bypassed by spelling a path or host differently: requests are
//! sent as raw bytes (so no client library normalizes them first) to an axum app behind
//! MeshListener + MeshServerLayer, and the app reports the path it received.
#![allow(clippy::unwrap_used)] // test helpers unwrap on setup failures

use mesh::core::authz::{
    AuthzChain, ConnectionPolicy, MtlsMode, Permission, Policy, Principal, Rbac, RbacAction, ServerPolicy,
};
use mesh::core::matcher::{HeaderMatch, HeaderMatcher, StringMatcher};
use mesh::tower::server::ServerPolicyHandle;
use mesh_testkit::MeshBackend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `raw` (a whole HTTP/1.1 request) and returns the status and the headers.
async fn send(addr: std::net::SocketAddr, raw: &str) -> (u16, Vec<(String, String)>) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(raw.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    // `Connection: close` on every request: read to the end.
    tcp.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

fn request(target: &str, host: &str, extra: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n")
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn policy(rbac: Rbac) -> ServerPolicyHandle {
    let conn = ConnectionPolicy { authz: AuthzChain::new(vec![rbac]), ..ConnectionPolicy::default() };
    ServerPolicyHandle::new(ServerPolicy::new(MtlsMode::Permissive, conn))
}

fn authority(m: StringMatcher) -> Permission {
    Permission::Header(HeaderMatcher::new(":authority", HeaderMatch::Value(m), false).unwrap())
}

/// DENY `/admin` (and below) and the host `admin.example.com` with any port.
fn deny_admin() -> ServerPolicyHandle {
    let deny = Policy {
        permissions: vec![
            Permission::UrlPath(StringMatcher::exact("/admin")),
            Permission::UrlPath(StringMatcher::prefix("/admin/")),
            authority(StringMatcher::exact("admin.example.com").ignore_case(true)),
            authority(StringMatcher::prefix("admin.example.com:").ignore_case(true)),
        ],
        principals: vec![Principal::Any],
    };
    policy(Rbac::new(RbacAction::Deny, [("deny-admin".to_string(), deny)]).unwrap())
}

#[tokio::test]
async fn spellings_of_a_denied_path_never_reach_the_application() {
    let backend = MeshBackend::http("app", deny_admin(), None).await.unwrap();
    let addr = backend.addr();
    // (request target, expected status): 403 when normalized onto /admin, 400 when the
    // path cannot be normalized safely. Never 200.
    let cases = [
        ("/admin", 403),
        ("/admin/", 403),
        ("/admin/users", 403),
        ("//admin", 403),
        ("///admin//users", 403),
        ("/./admin", 403),
        ("/a/../admin", 403),
        ("/a/b/../../admin", 403),
        ("/../admin", 403),
        ("/%2e%2e/admin", 403),
        ("/%2E/admin", 403),
        ("/.%2e/admin", 403),
        ("/%61dmin", 403),
        ("/%61%64%6d%69%6e", 403),
        ("/admin?x=1", 403),
        ("/admin?", 403),
        ("/admin/%2e", 403),
        ("/admin%2Fusers", 400),
        ("/admin%2fusers", 400),
        ("/x%2F..%2Fadmin", 400),
        ("/admin%5Cusers", 400),
        ("/admin%5cusers", 400),
        ("/admin%00", 400),
        ("/admin%00/x", 400),
        ("/admin#frag", 403), // the fragment is stripped, then /admin is denied
    ];
    let mut failures = Vec::new();
    for (target, want) in cases {
        let (status, headers) = send(addr, &request(target, "app.example.com", "")).await;
        if status != want {
            failures
                .push(format!("{target}: got {status} (app saw {:?}), want {want}", header(&headers, "x-seen-path")));
        }
    }
    assert!(failures.is_empty(), "bypasses:\n{}", failures.join("\n"));
    assert_eq!(backend.state().hits(), 0, "nothing reached the application");
    assert!(backend.policy().stats().denied() >= 17);
    assert!(backend.policy().stats().bad_path() >= 6);
}

#[tokio::test]
async fn host_spellings_are_matched_case_insensitively_and_with_ports() {
    let backend = MeshBackend::http("app", deny_admin(), None).await.unwrap();
    for host in ["admin.example.com", "ADMIN.example.com", "Admin.Example.Com", "admin.example.com:8080"] {
        let (status, _) = send(backend.addr(), &request("/public", host, "")).await;
        assert_eq!(status, 403, "Host: {host}");
    }
    let (status, headers) = send(backend.addr(), &request("/public", "app.example.com", "")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-seen-path"), Some("/public"));
    assert_eq!(backend.state().hits(), 1);
}

/// ALLOW only `GET /public/*` with header `x-user: alice`.
fn allow_public_for_alice() -> ServerPolicyHandle {
    let allow = Policy {
        permissions: vec![Permission::And(vec![
            Permission::UrlPath(StringMatcher::prefix("/public/")),
            Permission::Header(
                HeaderMatcher::new(":method", HeaderMatch::Value(StringMatcher::exact("GET")), false).unwrap(),
            ),
        ])],
        principals: vec![Principal::Header(
            HeaderMatcher::new("x-user", HeaderMatch::Value(StringMatcher::exact("alice")), false).unwrap(),
        )],
    };
    policy(Rbac::new(RbacAction::Allow, [("allow-alice".to_string(), allow)]).unwrap())
}

#[tokio::test]
async fn the_application_receives_exactly_the_authorized_path() {
    let backend = MeshBackend::http("app", allow_public_for_alice(), None).await.unwrap();
    let alice = "x-user: alice\r\n";
    for (target, seen) in [
        ("/public/a", "/public/a"),
        ("/public//a", "/public/a"),
        ("/public/./a", "/public/a"),
        ("/public/x/../a", "/public/a"),
        ("/public/%61", "/public/a"),
        ("/public/a?q=%2F", "/public/a?q=%2F"),
    ] {
        let (status, headers) = send(backend.addr(), &request(target, "app", alice)).await;
        assert_eq!(status, 200, "{target}");
        assert_eq!(header(&headers, "x-seen-path"), Some(seen), "{target}");
    }
}

#[tokio::test]
async fn default_deny_once_an_allow_policy_exists() {
    let backend = MeshBackend::http("app", allow_public_for_alice(), None).await.unwrap();
    for (target, extra, want) in [
        ("/public/a", "", 403),                                 // no x-user
        ("/public/a", "x-user: bob\r\n", 403),                  // someone else
        ("/public/a", "x-user: alice\r\nx-user: bob\r\n", 403), // duplicate header: joined "alice,bob"
        ("/public/a", "x-user: bob\r\nx-user: alice\r\n", 403), // in either order
        ("/public/../private", "x-user: alice\r\n", 403),       // climbs out of /public
        ("/private", "x-user: alice\r\n", 403),
        ("/PUBLIC/a", "x-user: alice\r\n", 403), // paths are case-sensitive
    ] {
        let (status, headers) = send(backend.addr(), &request(target, "app", extra)).await;
        assert_eq!(status, want, "{target} {extra:?}: app saw {:?}", header(&headers, "x-seen-path"));
    }
    let post =
        "POST /public/a HTTP/1.1\r\nHost: app\r\nx-user: alice\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_eq!(send(backend.addr(), post).await.0, 403, "only GET is allowed");
    assert_eq!(backend.state().hits(), 0);
}

#[tokio::test]
async fn deny_wins_over_allow() {
    let allow = Policy { permissions: vec![Permission::Any], principals: vec![Principal::Any] };
    let deny = Policy {
        permissions: vec![Permission::UrlPath(StringMatcher::prefix("/secret"))],
        principals: vec![Principal::Any],
    };
    let chain = AuthzChain::new(vec![
        Rbac::new(RbacAction::Deny, [("deny".to_string(), deny)]).unwrap(),
        Rbac::new(RbacAction::Allow, [("allow-all".to_string(), allow)]).unwrap(),
    ]);
    let conn = ConnectionPolicy { authz: chain, ..ConnectionPolicy::default() };
    let handle = ServerPolicyHandle::new(ServerPolicy::new(MtlsMode::Permissive, conn));
    let backend = MeshBackend::http("app", handle, None).await.unwrap();
    assert_eq!(send(backend.addr(), &request("/secret", "app", "")).await.0, 403);
    assert_eq!(send(backend.addr(), &request("/open", "app", "")).await.0, 200);
}

#[tokio::test]
async fn grpc_callers_get_permission_denied() {
    use mesh_testkit::{EchoClient, EchoRequest};
    let deny_all = Policy { permissions: vec![Permission::Any], principals: vec![Principal::Any] };
    let handle = policy(Rbac::new(RbacAction::Deny, [("deny-all".to_string(), deny_all)]).unwrap());
    let backend = MeshBackend::grpc("echo", handle, None).await.unwrap();
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", backend.addr())).unwrap().connect().await.unwrap();
    let err =
        EchoClient::new(channel).echo(EchoRequest { payload: bytes::Bytes::from_static(b"x") }).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    assert_eq!(err.message(), "RBAC: access denied");
    assert_eq!(backend.state().hits(), 0);
}
