//! Finds the line of a field in a YAML document, given its [`FieldPath`].
//!
//! serde_yaml_ng reports lines for syntax and schema errors, but its values carry no
//! positions, so a rule checked after parsing (weights that do not sum to 100) would only
//! know the document. Kubernetes manifests are written in block style, whose structure is
//! visible in the indentation: a key is a line `key:` at the mapping's indentation, its
//! value is the lines indented deeper (or, for a sequence, the `- ` lines at the same
//! indentation, the Kubernetes style), and item *n* of a sequence starts at its *n*-th
//! `- ` line. Walking that is cheap and needs no second YAML parser.
//!
//! When the walk cannot follow the path (flow style `{a: 1}`, anchors, a field that is
//! absent because it was defaulted), the line of the deepest segment found is returned,
//! so an issue still lands inside the right block.

use super::path::{FieldPath, Segment};

#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    /// 0-based line index in the document.
    no: usize,
    /// Column of the first character of `text`.
    indent: usize,
    /// The line from its first significant character.
    text: &'a str,
}

fn significant_lines(doc: &str) -> Vec<Line<'_>> {
    doc.lines()
        .enumerate()
        .filter_map(|(no, raw)| {
            let text = raw.trim_start_matches([' ', '\t']);
            let trimmed = text.trim_end();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" {
                return None;
            }
            Some(Line { no, indent: raw.len() - text.len(), text: trimmed })
        })
        .collect()
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ") || text.starts_with("-\t")
}

/// The key a mapping line starts with (`key: value`, `"key": value`, `'key':`).
fn key_of(text: &str) -> Option<&str> {
    for quote in ['"', '\''] {
        if let Some(rest) = text.strip_prefix(quote) {
            let end = rest.find(quote)?;
            return rest[end + 1..].trim_start().starts_with(':').then(|| &rest[..end]);
        }
    }
    let colon = text
        .char_indices()
        .find(|&(i, c)| c == ':' && text[i + 1..].chars().next().is_none_or(|n| n == ' ' || n == '\t'))?;
    Some(text[..colon.0].trim_end())
}

/// The 0-based line, within `doc`, of the field at `path` — or of the deepest part of the
/// path that could be found. `None` if not even the first segment was found.
pub fn line_of(doc: &str, path: &FieldPath) -> Option<usize> {
    let mut region: Vec<Line<'_>> = significant_lines(doc);
    let mut found = None;
    for segment in path.segments() {
        let Some(first) = region.first() else { break };
        let column = first.indent;
        match segment {
            Segment::Key(key) => {
                let Some(pos) = region.iter().position(|l| l.indent == column && key_of(l.text) == Some(key.as_str()))
                else {
                    break;
                };
                found = Some(region[pos].no);
                region = region[pos + 1..]
                    .iter()
                    .take_while(|l| l.indent > column || (l.indent == column && is_item(l.text)))
                    .copied()
                    .collect();
            }
            Segment::Index(index) => {
                let items: Vec<usize> = region
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.indent == column && is_item(l.text))
                    .map(|(i, _)| i)
                    .collect();
                let Some(&start) = items.get(*index) else { break };
                let end = items.get(index + 1).copied().unwrap_or(region.len());
                let head = region[start];
                found = Some(head.no);
                let after_dash = &head.text[1..];
                let content = after_dash.trim_start_matches([' ', '\t']);
                let mut item: Vec<Line<'_>> = region[start + 1..end].to_vec();
                if !content.is_empty() {
                    let indent = head.indent + 1 + (after_dash.len() - content.len());
                    item.insert(0, Line { no: head.no, indent, text: content });
                }
                region = item;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews # the name
spec:
  hosts:
  - reviews
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 60
    -   destination:
          host: reviews
          subset: v3
        weight: 30
";

    fn at(path: FieldPath) -> Option<usize> {
        line_of(DOC, &path).map(|l| l + 1)
    }

    #[test]
    fn finds_keys_items_and_nested_fields() {
        let http = FieldPath::spec().key("http");
        assert_eq!(at(FieldPath::metadata_name()), Some(4));
        assert_eq!(at(FieldPath::spec().key("hosts").index(0)), Some(7));
        assert_eq!(at(http.index(0).key("match").index(0).key("headers").key("end-user").key("exact")), Some(12));
        assert_eq!(at(http.index(0).key("route").index(0).key("destination").key("subset")), Some(16));
        assert_eq!(at(http.index(1).key("route").index(0).key("weight")), Some(21));
        assert_eq!(at(http.index(1).key("route").index(1).key("weight")), Some(25));
        assert_eq!(at(http.index(1).key("route").index(1).key("destination").key("subset")), Some(24));
    }

    #[test]
    fn falls_back_to_the_deepest_segment_found() {
        assert_eq!(at(FieldPath::spec().key("http").index(1).key("timeout")), Some(17));
        assert_eq!(at(FieldPath::spec().key("http").index(7)), Some(8));
        assert_eq!(at(FieldPath::default().key("nothing")), None);
    }

    #[test]
    fn keys() {
        assert_eq!(key_of("a: 1"), Some("a"));
        assert_eq!(key_of("a:"), Some("a"));
        assert_eq!(key_of("\"a.b/c\": x"), Some("a.b/c"));
        assert_eq!(key_of("url: http://x"), Some("url"));
        assert_eq!(key_of("http://x"), None);
        assert_eq!(key_of("- a"), None);
    }
}
