//! Path normalization: the bypass table (paths that must not escape a `/admin` prefix
//! policy), Envoy's own test vectors, and each setting.

use super::*;
use crate::matcher::StringMatcher;

const DEFAULT: PathNormalization =
    PathNormalization { normalize: true, merge_slashes: true, escaped_slashes: EscapedSlashes::Reject };

fn with(escaped_slashes: EscapedSlashes) -> PathNormalization {
    PathNormalization { escaped_slashes, ..DEFAULT }
}

fn norm(input: &str, cfg: &PathNormalization) -> Result<String, &'static str> {
    normalize_path(input, cfg).map(|n| n.path).map_err(|e| e.reason)
}

/// Each input: what the default settings make of it (`None`: rejected) and whether a
/// prefix policy on `/admin` then matches.
#[test]
fn bypass_attempts_against_an_admin_prefix() {
    let admin = StringMatcher::prefix("/admin");
    let table: &[(&str, Option<&str>, bool)] = &[
        ("/admin", Some("/admin"), true),
        ("//admin", Some("/admin"), true),
        ("///admin//x", Some("/admin/x"), true),
        ("/./admin", Some("/admin"), true),
        ("/a/../admin", Some("/admin"), true),
        ("/%2e%2e/admin", Some("/admin"), true),
        ("/%2E%2E/admin", Some("/admin"), true),
        ("/.%2e/admin", Some("/admin"), true),
        ("/%2e/admin", Some("/admin"), true),
        ("/../../../admin", Some("/admin"), true),
        ("/a/b/../../../..//admin", Some("/admin"), true),
        ("/x/..;/admin", Some("/admin"), true),
        ("/x/%2e%2e;jsessionid=1/admin", Some("/admin"), true),
        ("/x/.;p/../admin", Some("/admin"), true),
        ("/\\admin", Some("/admin"), true),
        ("/x\\..\\admin", Some("/admin"), true),
        ("/%61dmin", Some("/admin"), true),
        ("/ad%6Din", Some("/admin"), true),
        ("/admin#frag", Some("/admin"), true),
        ("/admin?q", Some("/admin"), true),
        ("/admin;x=1", Some("/admin;x=1"), true),
        ("/admin/.", Some("/admin/"), true),
        ("/admin/%2E", Some("/admin/"), true),
        ("/admin%2Fx", None, false),
        ("/admin%2fx", None, false),
        ("/admin%5Cx", None, false),
        ("/admin%5cx", None, false),
        ("/..%2fadmin", None, false),
        ("/admin%00", None, false),
        ("/admin\0", None, false),
        ("admin", None, false),
        ("\\admin", None, false),
        ("", None, false),
        ("#/admin", None, false),
        ("?/admin", None, false),
        // Not /admin, and the application sees the same path.
        ("/ADMIN", Some("/ADMIN"), false),
        ("/%41DMIN", Some("/ADMIN"), false),
        ("/admin/..;/x", Some("/x"), false),
        ("/admin/..", Some("/"), false),
        ("/admin/%2e%2e/%2e%2e/secret", Some("/secret"), false),
        ("/%2561dmin", Some("/%2561dmin"), false),
        ("/x/admin", Some("/x/admin"), false),
    ];
    for (input, want, matched) in table {
        let got = norm(input, &DEFAULT).ok();
        assert_eq!(got.as_deref(), *want, "{input:?}");
        assert_eq!(got.as_deref().is_some_and(|p| admin.matches(p)), *matched, "{input:?}");
    }
}

#[test]
fn escaped_slash_actions() {
    let unescape = with(EscapedSlashes::UnescapeAndForward);
    let keep = with(EscapedSlashes::KeepUnchanged);
    assert_eq!(norm("/admin%2Fx", &unescape), Ok("/admin/x".into()));
    assert_eq!(norm("/admin%5cx", &unescape), Ok("/admin/x".into()), "a backslash is a slash once normalized");
    assert_eq!(norm("/..%2fadmin", &unescape), Ok("/admin".into()));
    assert_eq!(norm("/x%2F..%2Fadmin", &unescape), Ok("/admin".into()));
    assert_eq!(norm("/admin%2fx", &keep), Ok("/admin%2Fx".into()), "kept, with upper-case hex");
    assert_eq!(norm("/a/%2F%2f/c", &keep), Ok("/a/%2F%2F/c".into()));
    assert_eq!(norm("/..%2fadmin", &keep), Ok("/..%2Fadmin".into()), "not a separator, so not a dot segment");
    assert_eq!(norm("/%5c%25", &keep), Ok("/%5C%25".into()));
    // Envoy's unescapeSlashes vectors (normalization off).
    let raw = PathNormalization {
        normalize: false,
        merge_slashes: false,
        escaped_slashes: EscapedSlashes::UnescapeAndForward,
    };
    for (input, want) in [
        ("/a%2Fb%2fc/", "/a/b/c/"),
        ("/%2f%2F", "///"),
        ("/%2b", "/%2b"),
        ("/abc%2", "/abc%2"),
        ("/foo%", "/foo%"),
        ("/%%2fa/", "/%/a/"),
        ("/%2%2fa/", "/%2/a/"),
        ("/a%5Cb%5cc/", "/a\\b\\c/"),
        ("/x/%2E%2e/z%2f%2Fabc%5C../def", "/x/%2E%2e/z//abc\\../def"),
    ] {
        assert_eq!(norm(input, &raw), Ok(want.into()), "{input:?}");
    }
    assert_eq!(norm("/x/%2E%2e/z%2f%2Fabc%5C../def", &unescape), Ok("/z/def".into()));
    let q = normalize_path("/a%2Fb?%2fabcd%5C%%2f%", &raw).expect("valid");
    assert_eq!(q.query.as_deref(), Some("%2fabcd%5C%%2f%"), "the query is untouched");
}

#[test]
fn envoy_canonicalization_vectors() {
    let keep = with(EscapedSlashes::KeepUnchanged);
    for (input, want) in [
        ("/xyz", "/xyz"),
        ("/x/y/z", "/x/y/z"),
        ("/a/b/../c", "/a/c"),
        ("/a/b/./c", "/a/b/c"),
        ("/a/b/../../../../c", "/c"),
        ("/a/..\\c", "/c"),
        ("/%c0%af", "/%C0%AF"),
        ("/a/b/%2E%2E/c", "/a/c"),
        ("/a/b/%2e%2e/c", "/a/c"),
        ("/A/B/C", "/A/B/C"),
        ("/xyz/..;foo=bar/abc", "/abc"),
        ("/..;foo=bar/abc", "/abc"),
        ("/xyz/..;foo=bar", "/"),
        ("/xyz/.;foo=bar/abc", "/xyz/abc"),
        ("/.;foo=bar/abc", "/abc"),
        ("/xyz/.;foo=bar", "/xyz/"),
        ("/xyz/..;foo=bar/.;v1=2,v2=3/abc", "/abc"),
        ("/..;foo=bar/abc/.;mmm", "/abc/"),
        ("/.;aaa/..;foo=bar/abc/.;mmm", "/abc/"),
        ("/xyz/..;foo=bar/.;fff=zzz", "/"),
        ("/xyz/..;foo=bar/.;fff=zzz/remain;blah-bluh", "/remain;blah-bluh"),
        ("/xyz/..foo", "/xyz/..foo"),
        ("/xyz/...;foo", "/xyz/...;foo"),
        ("/xyz/.foo", "/xyz/.foo"),
        ("/...", "/..."),
    ] {
        assert_eq!(norm(input, &keep), Ok(want.into()), "{input:?}");
    }
    for input in ["/xyz/.%00../abc", "/xyz/%00.%00./abc", "/xyz/AAAAA%%0000/abc"] {
        assert!(norm(input, &keep).is_err(), "{input:?}");
    }
    let n = normalize_path("/xyz/..;foo=bar/.;fff=zzz?blah=woops", &keep).expect("valid");
    assert_eq!((n.path.as_str(), n.query.as_deref()), ("/", Some("blah=woops")));
}

#[test]
fn escapes_and_decodes_like_chromium() {
    for (input, want) in [
        ("/ad min", "/ad%20min"),
        ("/a\"<>^`{|}b", "/a%22%3C%3E%5E%60%7B%7C%7Db"),
        ("/é", "/%C3%A9"),
        ("/a\u{7f}\u{1}", "/a%7F%01"),
        ("/!$&'()*+,;=:@[]", "/!$&'()*+,;=:@[]"),
        ("/%7e%2d%5f%30", "/~-_0"),
        ("/%3f%23%20%25", "/%3F%23%20%25"),
        ("/%zz", "/%25zz"),
        ("/a%", "/a%25"),
        ("/%%32%46", "/%252F"),
        ("/%2", "/%252"),
    ] {
        assert_eq!(norm(input, &DEFAULT), Ok(want.into()), "{input:?}");
    }
}

#[test]
fn settings_off_leave_the_path_alone() {
    let off =
        PathNormalization { normalize: false, merge_slashes: false, escaped_slashes: EscapedSlashes::KeepUnchanged };
    assert_eq!(norm("/a//./b/../%2f%61", &off), Ok("/a//./b/../%2f%61".into()));
    assert_eq!(norm("/a#x", &off), Ok("/a".into()), "the fragment is always dropped");
    assert_eq!(norm("/a%00", &off), Err("the path contains a NUL character"));
    let merge = PathNormalization { merge_slashes: true, ..off };
    for (input, want) in [
        ("/a//b/c/", "/a/b/c/"),
        ("//a/b/c", "/a/b/c"),
        ("/a/b/c//", "/a/b/c/"),
        ("/a////b/c", "/a/b/c"),
        ("//", "/"),
        ("/./", "/./"),
    ] {
        assert_eq!(norm(input, &merge), Ok(want.into()), "{input:?}");
    }
    let n = normalize_path("/a//b?a=///c", &merge).expect("valid");
    assert_eq!((n.path.as_str(), n.query.as_deref()), ("/a/b", Some("a=///c")));
    let normalize_only = PathNormalization { normalize: true, ..off };
    assert_eq!(norm("/a//../b", &normalize_only), Ok("/a/b".into()), "`..` removes the empty segment");
}

#[test]
fn query_and_fragment() {
    let n = normalize_path("/a?", &DEFAULT).expect("valid");
    assert_eq!((n.path.as_str(), n.query.as_deref()), ("/a", Some("")));
    assert_eq!(n.path_and_query(), "/a?");
    let n = normalize_path("/a/./b?x=/../y#f?g", &DEFAULT).expect("valid");
    assert_eq!((n.path.as_str(), n.query.as_deref()), ("/a/b", Some("x=/../y")));
    assert_eq!(n.path_and_query(), "/a/b?x=/../y");
    let n = normalize_path("/a#f?g", &DEFAULT).expect("valid");
    assert_eq!((n.path.as_str(), n.query), ("/a", None));
    assert!(normalize_path("/a?x\0", &DEFAULT).is_err(), "NUL anywhere");
    let e = normalize_path("/a%2f", &DEFAULT).expect_err("escaped slash");
    assert_eq!(e.to_string(), "invalid request path: the path contains an escaped slash (%2F or %5C)");
}
