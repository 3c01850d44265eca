//! Splits a multi-document YAML text into its documents, remembering where each starts.
//!
//! serde_yaml_ng can iterate documents, but its errors then count lines from the start
//! of each document and it stops at the first broken one. Splitting ourselves on the
//! `---` separator lines keeps every document's first line, so an error at line 3 of the
//! third document becomes the right line of the file, and one broken document does not
//! hide the issues of the others.

/// One document of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Document<'a> {
    /// 1-based line of the file on which `text` starts.
    pub(crate) first_line: usize,
    /// The document's text (without its separator line).
    pub(crate) text: &'a str,
}

impl Document<'_> {
    /// The file line of line `offset` (0-based) of the document.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.first_line + offset
    }

    /// The file line of the document's first line that is not blank or a comment.
    pub(crate) fn content_line(&self) -> usize {
        let offset = self
            .text
            .lines()
            .position(|l| {
                let t = l.trim();
                !t.is_empty() && !t.starts_with('#') && !is_directive_end(t)
            })
            .unwrap_or(0);
        self.line(offset)
    }

    /// Whether the document holds nothing but blank lines and comments.
    pub(crate) fn is_blank(&self) -> bool {
        self.text.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        })
    }
}

/// A line that separates documents: `---`, optionally followed by blanks and a comment.
fn is_separator(line: &str) -> bool {
    let line = line.trim_end();
    match line.strip_prefix("---") {
        Some(rest) => rest.is_empty() || (rest.starts_with([' ', '\t']) && rest.trim_start().starts_with('#')),
        None => false,
    }
}

/// The document end marker `...`.
fn is_directive_end(line: &str) -> bool {
    line == "..."
}

/// Splits `text` into documents, in order. Separator lines belong to no document;
/// documents may be blank (callers skip those).
pub(crate) fn split(text: &str) -> Vec<Document<'_>> {
    let mut docs = Vec::new();
    let mut start = 0usize; // byte offset of the current document
    let mut first_line = 1usize;
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let content = line.strip_suffix('\n').unwrap_or(line);
        let content = content.strip_suffix('\r').unwrap_or(content);
        if is_separator(content) {
            docs.push(Document { first_line, text: &text[start..offset] });
            start = offset + line.len();
            first_line = i + 2;
        }
        offset += line.len();
    }
    docs.push(Document { first_line, text: &text[start..] });
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_separator_lines_and_keeps_first_lines() {
        let text = "a: 1\n---\nb: 2\nc: 3\n--- # second\n\n# only comments\n---\nd: 4\n";
        let docs = split(text);
        let summary: Vec<(usize, &str, bool)> = docs.iter().map(|d| (d.first_line, d.text, d.is_blank())).collect();
        assert_eq!(
            summary,
            [(1, "a: 1\n", false), (3, "b: 2\nc: 3\n", false), (6, "\n# only comments\n", true), (9, "d: 4\n", false)]
        );
        assert_eq!(docs[3].content_line(), 9);
    }

    #[test]
    fn leading_separator_and_crlf() {
        let docs = split("---\r\n# c\r\nkind: X\r\n");
        assert_eq!(docs.len(), 2);
        assert!(docs[0].is_blank());
        assert_eq!((docs[1].first_line, docs[1].content_line()), (2, 3));
    }

    #[test]
    fn not_separators() {
        for line in ["---x", "--- a: 1", " ---", "----"] {
            assert!(!is_separator(line), "{line:?}");
        }
        for line in ["---", "--- ", "---  # c", "---\t#c"] {
            assert!(is_separator(line), "{line:?}");
        }
    }
}
