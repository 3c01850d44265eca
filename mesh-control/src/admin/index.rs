//! `GET /`: a one-page summary for people — what is served, who is connected, and what is
//! wrong with the files on disk.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AdminState;

const LINKS: [(&str, &str); 5] = [
    ("/ready", "readiness (200 once the first configuration is served)"),
    ("/metrics", "Prometheus metrics"),
    ("/debug/config_dump", "configuration, registrations, cache and what each client was sent (JSON)"),
    ("/debug/syncz", "per-client subscriptions, ACKed and NACKed versions (JSON)"),
    ("/v1/registrations", "registered workload instances (JSON; POST to register, DELETE to remove)"),
];

pub(super) async fn index(State(state): State<Arc<AdminState>>) -> Response {
    let status = state.status.borrow().clone();
    let clients = state.ads.clients();
    let mut page = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>mesh-control</title></head><body>\n\
         <h1>mesh-control</h1>\n",
    );
    let ready = if state.ready.load(Ordering::Acquire) { "ready" } else { "not ready" };
    let _ = writeln!(
        page,
        "<p>{ready} — configuration generation <b>{}</b>, {} objects, {} registrations, {} connected clients; \
         reloads: {} ok, {} rejected.</p>",
        status.generation,
        status.objects.len(),
        state.registry.list().len(),
        clients.len(),
        status.reloads_ok,
        status.reloads_error,
    );
    if status.errors.is_empty() {
        page.push_str("<h2>Configuration errors</h2>\n<p>none: the files on disk are what is served.</p>\n");
    } else {
        let _ = writeln!(
            page,
            "<h2>Configuration errors</h2>\n<p><b>The latest load was rejected ({} problem{}); the previous valid \
             configuration (generation {}) is still served.</b></p>\n<pre>",
            status.errors.len(),
            if status.errors.len() == 1 { "" } else { "s" },
            status.generation,
        );
        for error in &status.errors {
            let _ = writeln!(page, "{}", escape(error));
        }
        page.push_str("</pre>\n");
    }
    if !status.warnings.is_empty() {
        page.push_str("<h2>Translation warnings</h2>\n<pre>");
        for warning in status.warnings.iter() {
            let _ = writeln!(page, "{}", escape(warning));
        }
        page.push_str("</pre>\n");
    }
    page.push_str("<h2>Clients</h2>\n<ul>\n");
    for client in &clients {
        let protocol = if client.delta { "Delta" } else { "SotW" };
        let nacks = client.nacked.len();
        let _ = writeln!(
            page,
            "<li>#{} <code>{}</code> ({protocol}), {nacks} types NACKed</li>",
            client.id,
            escape(&client.node_id)
        );
    }
    page.push_str("</ul>\n<h2>Pages</h2>\n<ul>\n");
    for (href, what) in LINKS {
        let _ = writeln!(page, "<li><a href=\"{href}\">{href}</a> — {what}</li>");
    }
    page.push_str("</ul>\n</body></html>\n");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// Escapes text for HTML content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(super::escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
