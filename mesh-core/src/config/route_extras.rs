//! The static format's route features beyond destinations and policies: per-destination
//! header changes, mirrors and regex path rewrites (see [`super::file`] for the fields).

use crate::ConfigError;
use crate::error::Within;
use crate::fault::Percent;
use crate::route::{
    Destination, DestinationHeaders, MirrorHost, RegexRewrite, RequestMirror, WeightedDestinations, validate_authority,
};

use super::file::{DestinationFile, MirrorFile, RegexRewriteFile};
use super::translate::headers;

/// Adds each destination's own header changes (`destinations[i].request_headers` /
/// `.response_headers`).
pub(super) fn destination_headers(
    mut destinations: WeightedDestinations,
    files: &[DestinationFile],
) -> Result<WeightedDestinations, ConfigError> {
    for (i, f) in files.iter().enumerate() {
        let at = format!("destinations[{i}]");
        let mutation = |h: &Option<_>, field: &str| {
            h.as_ref().map(headers).transpose().within(format!("{at}.{field}")).map(Option::unwrap_or_default)
        };
        let h = DestinationHeaders {
            request: mutation(&f.request_headers, "request_headers")?,
            response: mutation(&f.response_headers, "response_headers")?,
        };
        destinations = destinations.with_headers(i, h).within("destinations")?;
    }
    Ok(destinations)
}

/// `mirrors[]`.
pub(super) fn mirrors(files: &[MirrorFile]) -> Result<Vec<RequestMirror>, ConfigError> {
    files.iter().enumerate().map(|(i, f)| mirror(f).within(format!("mirrors[{i}]"))).collect()
}

fn mirror(f: &MirrorFile) -> Result<RequestMirror, ConfigError> {
    if f.cluster.is_empty() {
        return Err(ConfigError::new("cluster", "must not be empty"));
    }
    let mut m = RequestMirror::new(Destination::new(&f.cluster, f.subset.clone()));
    if let Some(p) = f.percentage {
        m = m.with_percentage(Percent::new(p)?);
    }
    m.host = match (&f.authority, f.shadow_host_suffix) {
        (Some(_), Some(true)) => {
            return Err(ConfigError::new("authority", "a literal authority takes no -shadow suffix"));
        }
        (Some(a), _) => {
            validate_authority(a).within("authority")?;
            MirrorHost::Literal(a.clone())
        }
        (None, Some(false)) => MirrorHost::Unchanged,
        (None, _) => MirrorHost::ShadowSuffix,
    };
    Ok(m)
}

/// `rewrite.regex`.
pub(super) fn regex_rewrite(f: &RegexRewriteFile) -> Result<RegexRewrite, ConfigError> {
    RegexRewrite::new(&f.pattern, &f.substitution)
}

#[cfg(test)]
mod tests {
    use crate::config::from_yaml;
    use crate::route::MirrorHost;

    const YAML: &str = r#"
virtual_hosts:
  - name: a
    domains: [a]
    routes:
      - route:
          destinations:
            - { cluster: c, weight: 90, request_headers: { set: { x-to: c } } }
            - { cluster: d, weight: 10, response_headers: { remove: [server] } }
          rewrite: { regex: { pattern: "^/v1/(.*)$", substitution: "/v2/\\1" } }
          mirrors:
            - { cluster: d }
            - { cluster: c, percentage: 25, shadow_host_suffix: false }
            - { cluster: c, authority: "copy:80" }
clusters: [{ name: c }, { name: d }]
"#;

    #[test]
    fn mirrors_destination_headers_and_regex_rewrites() {
        let s = from_yaml(YAML).expect("valid");
        let a = s.routes().virtual_hosts()[0].routes()[0].action();
        let to_c = a.destinations.headers(0).expect("destination 0 has headers");
        assert_eq!(to_c.request.sets(), &[("x-to".to_string(), "c".to_string())]);
        assert!(to_c.response.is_empty());
        assert_eq!(a.destinations.headers(1).expect("destination 1").response.removes(), ["server"]);
        assert_eq!(a.regex_rewrite.as_ref().expect("regex").rewrite("/v1/x?q"), "/v2/x?q");
        assert_eq!(a.mirrors.len(), 3);
        assert_eq!(a.mirrors[0].destination.cluster, "d");
        assert_eq!(a.mirrors[0].percentage.value(), 100.0);
        assert_eq!(a.mirrors[0].host, MirrorHost::ShadowSuffix);
        assert_eq!(a.mirrors[1].percentage.value(), 25.0);
        assert_eq!(a.mirrors[1].host, MirrorHost::Unchanged);
        assert_eq!(a.mirrors[2].host, MirrorHost::Literal("copy:80".into()));
    }

    #[test]
    fn errors_name_the_field() {
        let field = |yaml: String| from_yaml(&yaml).expect_err("invalid").field;
        let at = "virtual_hosts[0].routes[0].route";
        assert_eq!(field(YAML.replace("^/v1/(.*)$", "^/v1/(.*$")), format!("{at}.rewrite.regex.pattern"));
        assert_eq!(field(YAML.replace("/v2/\\\\1", "/v2/\\\\2")), format!("{at}.rewrite.regex.substitution"));
        assert_eq!(field(YAML.replace("rewrite: {", "rewrite: { prefix: /p/,")), format!("{at}.rewrite.regex"));
        assert_eq!(field(YAML.replace("{ cluster: d }", "{ cluster: e }")), format!("{at}.mirrors[0].cluster"));
        assert_eq!(field(YAML.replace("percentage: 25", "percentage: 125")), format!("{at}.mirrors[1].percentage"));
        assert_eq!(
            field(YAML.replace("set: { x-to: c }", "set: { \"bad name\": c }")),
            format!("{at}.destinations[0].request_headers.set.bad name")
        );
    }
}
