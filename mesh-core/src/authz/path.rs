//! Request path normalization, as Envoy's HTTP connection manager does it before any
//! filter sees the request: what RBAC matches is exactly what the application receives.
//!
//! Steps, in Envoy's order:
//! 1. the fragment (`#…`) is dropped and the query (`?…`) split off, untouched; the path
//!    must be non-empty, start with `/` and hold no NUL (raw or `%00`);
//! 2. `%2F %2f %5C %5c` (escaped slashes): rejected, decoded to `/` and `\`, or kept
//!    ([`EscapedSlashes`], `path_with_escaped_slashes_action`);
//! 3. `normalize` (`normalize_path`, Chromium's path canonicalization, RFC 3986 §6):
//!    `\` becomes `/`; `.` and `..` segments are resolved and never climb above `/`; `%2e`
//!    counts as a dot; path parameters on dot segments are dropped (`/..;x/` is `/../`,
//!    Envoy's fix for GHSA-2w8w-rfw7-8gg4); escapes of unreserved characters
//!    (`A-Z a-z 0-9 - . _ ~`) are decoded; characters not allowed in a path are escaped;
//! 4. `merge_slashes`: runs of `/` become one.
//!
//! Deliberate differences from Envoy, each so that normalizing twice changes nothing (a
//! second normalizer — the application's framework — must see the same path RBAC saw):
//! - kept escapes get upper-case hex digits (`%2f` → `%2F`, RFC 3986 §6.2.2.1; Envoy keeps
//!   their case), so one path has one spelling;
//! - a `%` that does not start a valid escape is written `%25` (Envoy keeps it, and
//!   `%%32%46` would become `%2F` on a second pass);
//! - parameters are dropped from dot segments written with `%2e` too (`/%2e%2e;x/`);
//! - a path of only slashes merges to `/` (Envoy leaves `//`);
//! - `%00` is rejected even when `normalize` is off.
//!
//! Case is kept: paths are case-sensitive (`/ADMIN` is not `/admin`).

use std::fmt;

/// What to do with escaped slashes (`%2F`, `%2f`, `%5C`, `%5c`) in the path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum EscapedSlashes {
    /// Reject the request (HTTP 400): the safe default, as path-based policies cannot be
    /// bypassed by a slash the application may or may not decode.
    #[default]
    Reject,
    /// Decode them to `/` and `\` before normalizing.
    UnescapeAndForward,
    /// Keep them as they are (`%2F` is then part of a segment, not a separator).
    KeepUnchanged,
}

/// The HCM's path settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PathNormalization {
    /// RFC 3986 normalization (`normalize_path`).
    pub normalize: bool,
    /// Merge adjacent slashes (`merge_slashes`).
    pub merge_slashes: bool,
    /// Escaped slashes (`path_with_escaped_slashes_action`).
    pub escaped_slashes: EscapedSlashes,
}

impl Default for PathNormalization {
    /// Normalize, merge slashes, reject escaped slashes (what mesh-control serves).
    fn default() -> Self {
        Self { normalize: true, merge_slashes: true, escaped_slashes: EscapedSlashes::Reject }
    }
}

/// A normalized request target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NormalizedPath {
    /// The path: what policies match and what is forwarded to the application.
    pub path: String,
    /// The query without `?` (`Some("")` for a bare `?`), forwarded unchanged.
    pub query: Option<String>,
}

impl NormalizedPath {
    /// The path and query to forward (`/a?x=1`).
    pub fn path_and_query(&self) -> String {
        match &self.query {
            None => self.path.clone(),
            Some(q) => format!("{}?{q}", self.path),
        }
    }
}

/// Why a path was refused; answered with HTTP 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub struct PathRejection {
    /// Why.
    pub reason: &'static str,
}

impl fmt::Display for PathRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid request path: {}", self.reason)
    }
}

const fn reject(reason: &'static str) -> PathRejection {
    PathRejection { reason }
}

/// Whether `path` (without query) is already normal: [`normalize_path`] would return it
/// unchanged under every setting. A conservative, allocation-free check for the common
/// case — only unreserved characters and `/`, no empty, `.` or `..` segment — so that a
/// server can skip normalizing (and allocating) for ordinary requests.
pub fn is_normalized(path: &str) -> bool {
    path.starts_with('/')
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/'))
        && !path.contains("//")
        && !path.split('/').any(|s| s == "." || s == "..")
}

/// Normalizes a request's `path_and_query` (the request target in origin form).
pub fn normalize_path(path_and_query: &str, cfg: &PathNormalization) -> Result<NormalizedPath, PathRejection> {
    let target = path_and_query.split_once('#').map_or(path_and_query, |(t, _)| t);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    if path.is_empty() {
        return Err(reject("the path is empty"));
    }
    if !path.starts_with('/') {
        return Err(reject("the path must start with '/'"));
    }
    if target.contains('\0') || contains_escape(path, |hi, lo| hi == b'0' && lo == b'0') {
        return Err(reject("the path contains a NUL character"));
    }
    let mut path = match cfg.escaped_slashes {
        EscapedSlashes::KeepUnchanged => path.to_string(),
        EscapedSlashes::Reject if contains_escape(path, is_escaped_slash) => {
            return Err(reject("the path contains an escaped slash (%2F or %5C)"));
        }
        EscapedSlashes::Reject => path.to_string(),
        EscapedSlashes::UnescapeAndForward => unescape_slashes(path),
    };
    if cfg.normalize {
        path = canonicalize(path.as_bytes())?;
    }
    if cfg.merge_slashes && path.contains("//") {
        path = merge_slashes(&path);
    }
    Ok(NormalizedPath { path, query: query.map(str::to_string) })
}

fn is_escaped_slash(hi: u8, lo: u8) -> bool {
    matches!((hi, lo.to_ascii_uppercase()), (b'2', b'F') | (b'5', b'C'))
}

/// Whether `s` holds `%XY` with `pred(X, Y)`.
fn contains_escape(s: &str, pred: impl Fn(u8, u8) -> bool) -> bool {
    s.as_bytes().windows(3).any(|w| w[0] == b'%' && pred(w[1], w[2]))
}

/// Envoy's `unescapeSlashes`: one left-to-right pass, `%2F`/`%2f` → `/`, `%5C`/`%5c` → `\`.
fn unescape_slashes(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let (mut i, mut copied) = (0, 0);
    while i + 2 < b.len() {
        if b[i] == b'%' && is_escaped_slash(b[i + 1], b[i + 2]) {
            out.push_str(&path[copied..i]);
            out.push(if b[i + 1] == b'2' { '/' } else { '\\' });
            i += 3;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&path[copied..]);
    out
}

/// Collapses runs of `/`.
fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

/// How a path byte is written by the canonicalizer (Chromium's `kPathCharLookup`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Copied, literal or escaped.
    Pass,
    /// Copied when literal; its escape is decoded (unreserved characters).
    Unescape,
    /// Must be escaped.
    Escape,
}

fn class(b: u8) -> Class {
    match b {
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' => Class::Unescape,
        b'!' | b'$' | b'&'..=b',' | b'/' | b':' | b';' | b'=' | b'@' | b'[' | b']' => Class::Pass,
        // '.', '\\' and '%' are handled before the table is consulted; they never reach it
        // from literal input, and as decoded escapes they are kept escaped.
        b'.' | b'\\' => Class::Pass,
        // Controls, space, " # % < > ? ^ ` { | } DEL and non-ASCII.
        _ => Class::Escape,
    }
}

fn is_slash(b: u8) -> bool {
    b == b'/' || b == b'\\'
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte escaped at `s[i..i + 3]`, if `s[i]` starts a valid escape.
fn decode_escape(s: &[u8], i: usize) -> Option<u8> {
    match s.get(i..i + 3) {
        Some([b'%', hi, lo]) => Some((hex(*hi)? << 4) | hex(*lo)?),
        _ => None,
    }
}

/// Length of the dot at `s[i..]`: 1 for `.`, 3 for `%2e`/`%2E`, 0 for none.
fn dot_len(s: &[u8], i: usize) -> usize {
    match s.get(i..) {
        Some([b'.', ..]) => 1,
        Some([b'%', b'2', b'e' | b'E', ..]) => 3,
        _ => 0,
    }
}

enum Dots {
    /// Part of a name.
    Name,
    /// `.`: drop it.
    Current,
    /// `..`: remove the previous segment.
    Up,
}

/// Classifies the dot segment whose first dot ends at `after`; returns how many more
/// input bytes it spans (its second dot, parameters and the slash that ends it).
fn classify_after_dot(s: &[u8], after: usize) -> (Dots, usize) {
    // `;…` up to (and with) the next slash: parameters of a dot segment.
    let params = |at: usize| s[at..].iter().position(|&b| is_slash(b)).map_or(s.len() - at, |p| p + 1);
    match s.get(after) {
        None => return (Dots::Current, 0),
        Some(&b) if is_slash(b) => return (Dots::Current, 1),
        Some(b';') => return (Dots::Current, params(after)),
        Some(_) => {}
    }
    let second = dot_len(s, after);
    if second == 0 {
        return (Dots::Name, 0);
    }
    let end = after + second;
    match s.get(end) {
        None => (Dots::Up, second),
        Some(&b) if is_slash(b) => (Dots::Up, second + 1),
        Some(b';') => (Dots::Up, second + params(end)),
        Some(_) => (Dots::Name, 0),
    }
}

/// Truncates `out` (which ends with `/`) to the slash before its last segment; stays at
/// the root.
fn back_up(out: &mut String) {
    let Some(before_last) = out.len().checked_sub(1) else { return };
    let prev = out[..before_last].rfind('/').map_or(1, |p| p + 1);
    out.truncate(prev.max(1));
}

fn push_escaped(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0xf)]));
}

/// Chromium's `CanonicalizePath` over `s` (which starts with a slash), with the changes
/// listed in the module docs. The output is ASCII.
fn canonicalize(s: &[u8]) -> Result<String, PathRejection> {
    let mut out = String::with_capacity(s.len() + 8);
    if !s.first().copied().is_some_and(is_slash) {
        out.push('/');
    }
    let mut i = 0;
    while i < s.len() {
        let dots = dot_len(s, i);
        if dots > 0 {
            if out.ends_with('/') {
                match classify_after_dot(s, i + dots) {
                    (Dots::Name, _) => out.push('.'),
                    (Dots::Current, more) => i += more,
                    (Dots::Up, more) => {
                        back_up(&mut out);
                        i += more;
                    }
                }
            } else {
                out.push('.');
            }
            i += dots;
            continue;
        }
        let b = s[i];
        match b {
            b'\\' => out.push('/'),
            b'%' => match decode_escape(s, i) {
                Some(0) => return Err(reject("the path contains a NUL character")),
                Some(v) => {
                    if class(v) == Class::Unescape {
                        out.push(char::from(v));
                    } else {
                        push_escaped(&mut out, v);
                    }
                    i += 2;
                }
                None => push_escaped(&mut out, b'%'),
            },
            0 => return Err(reject("the path contains a NUL character")),
            _ if class(b) == Class::Escape => push_escaped(&mut out, b),
            _ => out.push(char::from(b)),
        }
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
