//! The page templates (minijinja, built in). Names end in `.html`, so every
//! value is HTML-escaped unless a template says otherwise (none does): a
//! supplier's subject or body is always text on the page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

/// A page could not be rendered (already logged).
#[derive(Debug)]
pub struct RenderFailed;

impl IntoResponse for RenderFailed {
    fn into_response(self) -> Response {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "page could not be rendered\n",
        )
            .into_response()
    }
}

pub struct Pages {
    env: Environment<'static>,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("cases.html", include_str!("templates/cases.html")),
    ("case.html", include_str!("templates/case.html")),
    ("register.html", include_str!("templates/register.html")),
    ("quarantine.html", include_str!("templates/quarantine.html")),
    ("error.html", include_str!("templates/error.html")),
    ("report.html", include_str!("templates/report.html")),
    ("reported.html", include_str!("templates/reported.html")),
    ("config.html", include_str!("templates/config.html")),
    ("rules.html", include_str!("templates/rules.html")),
];

impl Pages {
    pub fn new() -> anyhow::Result<Pages> {
        let mut env = Environment::new();
        for (name, src) in TEMPLATES {
            env.add_template(name, src)?;
        }
        Ok(Pages { env })
    }

    /// Renders a page; a template error is logged and becomes a 500 with
    /// nothing of the data ([`RenderFailed`]).
    pub fn render<S: Serialize>(&self, name: &str, ctx: S) -> Result<String, RenderFailed> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(minijinja::value::Serde(&ctx)))
            .map_err(|e| {
                tracing::error!("template {name}: {e:#}");
                RenderFailed
            })
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        TEMPLATES.iter().map(|(n, _)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HOSTILE: &str = "<script>alert(1)</script>";

    fn case_ctx() -> serde_json::Value {
        json!({
            "user": "dpo@example.test", "csrf": "tok", "quarantine": true,
            "c": {"ref": "PUI-2026-0001", "state_sv": "inkommet", "urgency": "urgent", "time_left": "3 h 2 min kvar",
                  "deadline": "2026-11-30 10:00", "aware": "2026-11-27 10:00", "opened": "2026-11-27 10:05",
                  "supplier": HOSTILE, "systems": "Procapita", "committee": "KS", "official": "olivia@example.test", "official_name": HOSTILE, "imy_ref": null},
            "facts": [{"name": "System", "value": HOSTILE, "evidence": [HOSTILE]}], "facts_file": HOSTILE,
            "reminders_sent": ["2026-11-28 10:00 (reminder_sent)"], "next_reminder": "2026-11-29 10:00",
            "documents": [{"name": "beslut.docx", "sha256": "ab12", "at": "2026-11-27 10:05"}],
            "clocks": [{"name": "NIS2: tidig varning", "article": "NIS2 art. 23.4 a", "due": "2026-11-28 10:00",
                        "done": "", "state": "3 h 2 min kvar", "urgency": "urgent"}],
            "events": [{"at": "x", "kind": "case_opened", "label": "Ärendet öppnat", "actor": "breachwatch", "via": null, "hash": "h1", "prev_hash": "h0"}],
            "messages": [{"id": 7, "received": "x", "from": "a@b", "subject": HOSTILE, "kind": "incidentanmälan, öppnade ärendet",
                          "attachments": [{"n": 0, "name": HOSTILE, "size": 10}]}],
            "outbox": [{"purpose": "opening", "subject": HOSTILE, "status": "sent", "sent": "x"}],
            "actions": true, "flash": "Utfört."
        })
    }

    /// The header shows only the links this person may follow.
    #[test]
    fn the_header_hides_what_a_person_may_not_open() {
        let pages = Pages::new().expect("templates parse");
        let official = pages
            .render("base.html", json!({"user": "o", "csrf": "t", "quarantine": false, "register": false, "admin": false}))
            .unwrap_or_default();
        assert!(official.contains("href=\"/report\""), "{official}");
        for hidden in ["/register", "/quarantine", "/admin/config", "/admin/rules"] {
            assert!(
                !official.contains(&format!("href=\"{hidden}\"")),
                "{hidden}: {official}"
            );
        }
        let admin = pages
            .render("base.html", json!({"user": "a", "csrf": "t", "quarantine": true, "register": true, "admin": true}))
            .unwrap_or_default();
        for shown in ["/register", "/quarantine", "/admin/config", "/admin/rules"] {
            assert!(
                admin.contains(&format!("href=\"{shown}\"")),
                "{shown}: {admin}"
            );
        }
    }

    /// Every template renders with a full context, and supplier text stays text.
    #[test]
    fn every_page_renders_and_escapes_supplier_text() {
        let pages = Pages::new().expect("templates parse");
        let row = json!({"ref": "PUI-2026-0001", "urgency": "overdue", "time_left": "försenat 5 h",
            "deadline": "x", "supplier": HOSTILE, "systems": HOSTILE, "committee": "KS", "official": "o@example.test",
            "official_name": HOSTILE, "state_sv": "inkommet", "acknowledged": false, "last_event": HOSTILE, "last_event_when": "2026-12-01 11:36", "last_event_what": HOSTILE});
        let base = json!({"user": "dpo@example.test", "csrf": "tok", "quarantine": true});
        let mut ctxs = std::collections::BTreeMap::new();
        ctxs.insert("base.html", base.clone());
        ctxs.insert("login.html", json!({"csrf": "tok", "error": true}));
        ctxs.insert(
            "error.html",
            json!({"status": 403, "message": HOSTILE, "user": null}),
        );
        ctxs.insert(
            "cases.html",
            json!({"user": "u", "csrf": "t", "quarantine": false, "cases": [row],
            "committees": [HOSTILE], "officials": [{"value": "o@example.test", "name": HOSTILE}], "states": [{"value": "received", "label": "inkommet"}],
            "filter": {"committee": HOSTILE, "state": "", "official": ""}, "filtered": true,
            "total": 120, "page": 2, "pages": 3, "first": 51, "last": 100, "prev": 1, "next": 3,
            "keep": "committee=%3Cscript%3E&state=&official="}),
        );
        ctxs.insert(
            "config.html",
            json!({"user": "u", "csrf": "t", "quarantine": true, "register": true, "admin": true,
                "config": HOSTILE}),
        );
        ctxs.insert(
            "rules.html",
            json!({"user": "u", "csrf": "t", "quarantine": true, "register": true, "admin": true,
                "file": HOSTILE, "result": {"rule": HOSTILE, "reasons": [HOSTILE], "committee": "KS",
                "diarie_prefix": "KS", "delegation_point": "1",
                "official": {"name": HOSTILE, "address": "o@example.test"},
                "deputy": {"name": "D", "address": "d@example.test"},
                "dpo": {"name": "P", "address": "p@example.test"}, "coordinator": null,
                "placement": HOSTILE}}),
        );
        ctxs.insert("case.html", case_ctx());
        ctxs.insert("register.html", json!({"user": "u", "csrf": "t", "quarantine": true, "verify": "ok", "verify_ok": true,
            "from": "", "to": "", "rows": [{"ref": "PUI-2026-0001", "opened": "x", "state": "s", "committee": "c",
            "supplier": HOSTILE, "decision": "", "imy": ""}]}));
        ctxs.insert("quarantine.html", json!({"user": "u", "csrf": "t", "quarantine": true,
            "rows": [{"id": 1, "received": "x", "from": "x", "subject": HOSTILE, "error": HOSTILE}]}));
        ctxs.insert("report.html", json!({"user": "u", "csrf": "t", "quarantine": false, "zone": "Europe/Stockholm",
            "f": {"what": HOSTILE, "discovered": "2026-11-30T10:00", "system": HOSTILE, "people": "", "count": "", "ongoing": "yes"},
            "max": "2026-11-30T10:00", "categories": [{"value": "health", "label": "Hälsa", "checked": true}],
            "errors": [{"field": "what", "text": "x"}]}));
        ctxs.insert(
            "reported.html",
            json!({"user": "u", "csrf": "t", "quarantine": false, "ref": HOSTILE, "joined": false}),
        );
        for name in Pages::names() {
            let ctx = ctxs
                .get(name)
                .unwrap_or_else(|| panic!("no test context for {name}"));
            let html = pages
                .render(name, ctx)
                .unwrap_or_else(|_| panic!("{name} renders"));
            assert!(
                !html.contains("<script>"),
                "{name} let a script through: {html}"
            );
            if name != "base.html" && name != "login.html" {
                assert!(
                    html.contains("&lt;script&gt;"),
                    "{name} shows the hostile text escaped"
                );
            }
        }
        let case = pages.render("case.html", case_ctx()).unwrap_or_default();
        assert!(
            case.contains("name=\"csrf\" value=\"tok\""),
            "the action form carries the token"
        );
        assert!(
            case.contains("ab12") && case.contains("h1"),
            "checksums and event hashes shown"
        );
        assert!(
            case.contains("ur den bifogade filen <q>&lt;script&gt;"),
            "the file the facts were read from is named, escaped"
        );
        let mut no_file = case_ctx();
        no_file["facts_file"] = serde_json::Value::Null;
        let html = pages.render("case.html", no_file).unwrap_or_default();
        assert!(!html.contains("facts-file"), "no file, no line");
        assert!(
            case.contains("<td>NIS2 art. 23.4 a</td>"),
            "every clock of the case in one table"
        );
    }
}
