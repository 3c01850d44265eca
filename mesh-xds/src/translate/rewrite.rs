//! Header mutations (route and weighted-cluster level), regex path rewrites and
//! redirects → [`HeaderMutation`], [`RegexRewrite`] and [`Redirect`].
//!
//! `append_action` `APPEND_IF_EXISTS_OR_ADD` (or legacy `append: true`, the legacy
//! default) appends; `OVERWRITE_IF_EXISTS_OR_ADD` (or `append: false`) replaces.
//! `ADD_IF_ABSENT`, `OVERWRITE_IF_EXISTS`, `keep_empty_value` and values with `%…%`
//! substitution formatters are rejected (a literal `%` is written `%%`).

use envoy_types::pb::envoy::config::core::v3::HeaderValueOption;
use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::route::v3 as pb;
use envoy_types::pb::envoy::config::route::v3::redirect_action::{PathRewriteSpecifier, SchemeRewriteSpecifier};
use envoy_types::pb::envoy::r#type::matcher::v3::RegexMatchAndSubstitute;
use mesh_core::route::{HeaderMutation, Redirect, RedirectCode, RedirectPath, RegexRewrite};

use super::field::{At, FieldResult, reject, unsupported};

/// The mutation of `*_headers_to_add` and `*_headers_to_remove`.
/// `which` is `request` or `response` (names the fields in errors).
pub(super) fn header_mutation(
    which: &str,
    add: &[HeaderValueOption],
    remove: &[String],
) -> FieldResult<HeaderMutation> {
    let (add_field, remove_field) = (format!("{which}_headers_to_add"), format!("{which}_headers_to_remove"));
    let mut m = HeaderMutation::new();
    for (i, name) in remove.iter().enumerate() {
        m = m.remove(name).for_field(format!("{remove_field}[{i}]"))?;
    }
    for (i, o) in add.iter().enumerate() {
        m = option(m, o).at(format!("{add_field}[{i}]"))?;
    }
    Ok(m)
}

// `append` is deprecated but still honoured by Envoy.
#[allow(deprecated)]
fn option(m: HeaderMutation, o: &HeaderValueOption) -> FieldResult<HeaderMutation> {
    let Some(h) = &o.header else { return reject("header", "is required") };
    unsupported(o.keep_empty_value, "keep_empty_value", "keeping empty header values")?;
    let append = match (&o.append, HeaderAppendAction::try_from(o.append_action)) {
        (Some(_), Ok(a)) if a != HeaderAppendAction::AppendIfExistsOrAdd => {
            return reject("append", "append and append_action cannot both be set");
        }
        (Some(b), _) => b.value,
        (None, Ok(HeaderAppendAction::AppendIfExistsOrAdd)) => true,
        (None, Ok(HeaderAppendAction::OverwriteIfExistsOrAdd)) => false,
        (None, Ok(a)) => return reject("append_action", format!("{} is not supported", a.as_str_name())),
        (None, Err(_)) => return reject("append_action", format!("unknown value {}", o.append_action)),
    };
    let value = if h.value.is_empty() && !h.raw_value.is_empty() {
        match std::str::from_utf8(&h.raw_value) {
            Ok(v) => v,
            Err(_) => return reject("header.raw_value", "must be UTF-8"),
        }
    } else {
        h.value.as_str()
    };
    let value = literal(value).at("header.value")?;
    let m = if append { m.add(&h.key, &value) } else { m.set(&h.key, &value) };
    m.for_field("header.key")
}

/// The value without `%%` escapes; `%…%` formatters are rejected.
fn literal(v: &str) -> FieldResult<String> {
    if !v.contains('%') {
        return Ok(v.to_string());
    }
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        if rest[i + 1..].starts_with('%') {
            out.push('%');
            rest = &rest[i + 2..];
        } else {
            return reject("", format!("{v:?}: substitution formatters (%…%) are not supported; write % as %%"));
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A `regex_rewrite` (RE2 pattern and substitution; see [`RegexRewrite`]).
pub(super) fn regex_rewrite(r: &RegexMatchAndSubstitute) -> FieldResult<RegexRewrite> {
    let Some(pattern) = &r.pattern else { return reject("pattern", "is required") };
    RegexRewrite::new(&pattern.regex, &r.substitution).map_err(|e| match e.field.as_str() {
        "pattern" => mesh_core::ConfigError::new("pattern.regex", e.reason),
        _ => e,
    })
}

/// A `redirect` action.
pub(super) fn redirect(r: &pb::RedirectAction) -> FieldResult<Redirect> {
    unsupported(r.strip_query, "strip_query", "stripping the query")?;
    let scheme = match &r.scheme_rewrite_specifier {
        Some(SchemeRewriteSpecifier::HttpsRedirect(true)) => Some("https".to_string()),
        Some(SchemeRewriteSpecifier::SchemeRedirect(s)) if !s.is_empty() => Some(s.to_ascii_lowercase()),
        _ => None,
    };
    let path = match &r.path_rewrite_specifier {
        None => None,
        Some(PathRewriteSpecifier::PathRedirect(p)) if p.is_empty() => None,
        Some(PathRewriteSpecifier::PathRedirect(p)) => Some(RedirectPath::Path(p.clone())),
        Some(PathRewriteSpecifier::PrefixRewrite(p)) => Some(RedirectPath::Prefix(p.clone())),
        Some(PathRewriteSpecifier::RegexRewrite(_)) => {
            return reject("regex_rewrite", "regex rewriting is not supported");
        }
        Some(PathRewriteSpecifier::PathRewrite(_)) => {
            return reject("path_rewrite", "path templates are not supported");
        }
    };
    let port = match u16::try_from(r.port_redirect) {
        Ok(0) => None,
        Ok(p) => Some(p),
        Err(_) => return reject("port_redirect", format!("{} is not a port", r.port_redirect)),
    };
    let code = match r.response_code {
        0 => RedirectCode::MovedPermanently,
        1 => RedirectCode::Found,
        2 => RedirectCode::SeeOther,
        3 => RedirectCode::TemporaryRedirect,
        4 => RedirectCode::PermanentRedirect,
        other => return reject("response_code", format!("unknown value {other}")),
    };
    let host = (!r.host_redirect.is_empty()).then(|| r.host_redirect.clone());
    let redirect = Redirect { scheme, host, port, path, code };
    redirect.validate().map_err(|e| {
        let field = match e.field.as_str() {
            "scheme" => "scheme_redirect",
            "host" => "host_redirect",
            "path" => "path_redirect",
            _ => "prefix_rewrite",
        };
        mesh_core::ConfigError::new(field, e.reason)
    })?;
    Ok(redirect)
}
