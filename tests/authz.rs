//! Authorization, exhaustively: every JSON route (from the OpenAPI document), every
//! server function (from the registry) and every page, called as each role and as an
//! anonymous visitor, against the expected outcome kept in the table below. A route the
//! table does not know fails the test, so a new route cannot ship unreviewed.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any error it did not expect"
)]

use crate::support;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use relabel::auth::{Role, hash_password};
use relabel::web::{AppState, app};
use serde_json::{Value, json};
use support::{TestDb, each_backend, project};
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";

/// Who calls.
const CALLERS: [&str; 5] = ["anonymous", "annotator", "reviewer", "outsider", "admin"];

/// What a call came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Done (2xx or a redirect).
    Ok,
    /// 401 / the server function's `Unauthorized`.
    Unauth,
    /// 403 / `Forbidden`.
    Forbidden,
    /// Past the access checks, then refused on its content (400, 404, 409, 422, `Refused`,
    /// `BadCredentials`): proves access was granted without changing anything.
    Refused,
}
use Outcome::*;

/// One route: how to call it, and the outcome for each caller in `CALLERS` order.
struct Case {
    method: &'static str,
    path: &'static str,
    call_path: &'static str,
    body: Fields,
    expect: [Outcome; 5],
}

fn table() -> Vec<Case> {
    let json_body = |v: Value| Some(("application/json", v));
    let form = |v: Value| Some(("application/x-www-form-urlencoded", v));
    vec![
        Case {
            method: "GET",
            path: "/api/v1/health",
            call_path: "/api/v1/health",
            body: None,
            expect: [Ok, Ok, Ok, Ok, Ok],
        },
        // Anyone logged in may change their own password; a wrong current one changes
        // nothing.
        Case {
            method: "PUT",
            path: "/api/v1/session/password",
            call_path: "/api/v1/session/password",
            body: json_body(json!({
                "current_password": "not the password",
                "new_password": "a new long password"
            })),
            expect: [Unauth, Refused, Refused, Refused, Refused],
        },
        // Metrics answer loopback peers or the metrics token, never a session.
        Case {
            method: "GET",
            path: "/metrics",
            call_path: "/metrics",
            body: None,
            expect: [Forbidden; 5],
        },
        Case {
            method: "GET",
            path: "/api/v1/openapi.json",
            call_path: "/api/v1/openapi.json",
            body: None,
            expect: [Ok, Ok, Ok, Ok, Ok],
        },
        Case {
            method: "GET",
            path: "/api/v1/session",
            call_path: "/api/v1/session",
            body: None,
            expect: [Unauth, Ok, Ok, Ok, Ok],
        },
        // Login is public; a wrong password is refused for everyone.
        Case {
            method: "POST",
            path: "/api/v1/session",
            call_path: "/api/v1/session",
            body: json_body(json!({"username": "nobody", "password": "wrong password"})),
            expect: [Unauth, Unauth, Unauth, Unauth, Unauth],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects",
            call_path: "/api/v1/projects",
            body: None,
            expect: [Unauth, Ok, Ok, Ok, Ok],
        },
        Case {
            method: "POST",
            path: "/api/v1/projects/{slug}/next",
            call_path: "/api/v1/projects/shop/next",
            body: None,
            expect: [Unauth, Ok, Forbidden, Forbidden, Forbidden],
        },
        Case {
            method: "POST",
            path: "/api/v1/projects/{slug}/judgments",
            call_path: "/api/v1/projects/shop/judgments",
            body: json_body(json!({"pair_id": 1, "label": "L9", "idempotency_key": "authz"})),
            expect: [Unauth, Refused, Forbidden, Forbidden, Forbidden],
        },
        Case {
            method: "POST",
            path: "/api/v1/projects/{slug}/skips",
            call_path: "/api/v1/projects/shop/skips",
            body: json_body(json!({"pair_id": 999_999})),
            expect: [Unauth, Refused, Forbidden, Forbidden, Forbidden],
        },
        // A download changes nothing, so it is a GET; admins only.
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/export",
            call_path: "/api/v1/projects/shop/export?format=labels",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Ok],
        },
        // Imports: admins only. An empty file is refused once access is granted.
        Case {
            method: "POST",
            path: "/api/v1/projects/{slug}/imports",
            call_path: "/api/v1/projects/shop/imports?format=jsonl",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        // Quality and review: reviewers and admins. A decision on a pair that does not
        // exist is refused once access is granted, so nothing changes.
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/quality",
            call_path: "/api/v1/projects/shop/quality",
            body: None,
            expect: [Unauth, Forbidden, Ok, Forbidden, Ok],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/quality/charts/{chart}",
            call_path: "/api/v1/projects/shop/quality/charts/labels-by-band",
            body: None,
            expect: [Unauth, Forbidden, Ok, Forbidden, Ok],
        },
        Case {
            method: "POST",
            path: "/rpc/quality/dashboard",
            call_path: "/rpc/quality/dashboard",
            body: form(json!({"slug": "shop"})),
            expect: [Unauth, Forbidden, Ok, Forbidden, Ok],
        },
        Case {
            method: "GET",
            path: "/p/{slug}/quality",
            call_path: "/p/shop/quality",
            body: None,
            expect: [Unauth, Forbidden, Ok, Forbidden, Ok],
        },
        Case {
            method: "POST",
            path: "/rpc/review/list",
            call_path: "/rpc/review/list",
            body: form(json!({"slug": "shop"})),
            expect: [Unauth, Forbidden, Ok, Forbidden, Ok],
        },
        Case {
            method: "POST",
            path: "/rpc/review/pair",
            call_path: "/rpc/review/pair",
            body: form(json!({"slug": "shop", "pair_id": 999_999})),
            expect: [Unauth, Forbidden, Refused, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/rpc/review/decide",
            call_path: "/rpc/review/decide",
            body: form(json!({"slug": "shop", "pair_id": 999_999, "label": "L3"})),
            expect: [Unauth, Forbidden, Refused, Forbidden, Refused],
        },
        Case {
            method: "GET",
            path: "/p/{slug}/review",
            call_path: "/p/shop/review",
            body: None,
            expect: [Unauth, Forbidden, Ok, Forbidden, Ok],
        },
        Case {
            method: "GET",
            path: "/p/{slug}/review/{pair}",
            call_path: "/p/shop/review/999999",
            body: None,
            expect: [Unauth, Forbidden, Refused, Forbidden, Refused],
        },
        // The guideline: members read it; editors (and admins) change it; the annotator,
        // reviewer and outsider cannot reach the editor's API. Bodies that would change
        // something are refused on content once access is granted.
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/guideline/versions",
            call_path: "/api/v1/projects/shop/guideline/versions",
            body: None,
            expect: [Unauth, Ok, Ok, Forbidden, Ok],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/guideline/versions/{number}",
            call_path: "/api/v1/projects/shop/guideline/versions/99",
            body: None,
            expect: [Unauth, Refused, Refused, Forbidden, Refused],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/guideline/diff",
            call_path: "/api/v1/projects/shop/guideline/diff?from=98&to=99",
            body: None,
            expect: [Unauth, Refused, Refused, Forbidden, Refused],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/guideline/versions/{number}/impact",
            call_path: "/api/v1/projects/shop/guideline/versions/99/impact",
            body: None,
            expect: [Unauth, Forbidden, Refused, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/api/v1/projects/{slug}/guideline/versions/{number}/rereview",
            call_path: "/api/v1/projects/shop/guideline/versions/99/rereview",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        Case {
            method: "PUT",
            path: "/api/v1/projects/{slug}/guideline/draft",
            call_path: "/api/v1/projects/shop/guideline/draft",
            body: json_body(json!({"rules": [{"id": "bad id!", "title": "x"}]})),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/api/v1/projects/{slug}/guideline/publish",
            call_path: "/api/v1/projects/shop/guideline/publish",
            body: json_body(json!({"note": "authz"})),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/api/v1/projects/{slug}/rereview/{pair_id}",
            call_path: "/api/v1/projects/shop/rereview/999999",
            body: json_body(json!({"label": "L3"})),
            expect: [Unauth, Forbidden, Refused, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/rpc/guideline/versions",
            call_path: "/rpc/guideline/versions",
            body: form(json!({"slug": "shop"})),
            expect: [Unauth, Ok, Ok, Forbidden, Ok],
        },
        Case {
            method: "POST",
            path: "/rpc/guideline/version",
            call_path: "/rpc/guideline/version",
            body: form(json!({"slug": "shop", "number": 99})),
            expect: [Unauth, Refused, Refused, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/rpc/guideline/send-rereview",
            call_path: "/rpc/guideline/send-rereview",
            body: form(json!({"slug": "shop", "number": 99})),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/rpc/review/rereview",
            call_path: "/rpc/review/rereview",
            body: form(json!({"slug": "shop", "pair_id": 999_999, "label": "L3"})),
            expect: [Unauth, Forbidden, Refused, Forbidden, Refused],
        },
        Case {
            method: "GET",
            path: "/p/{slug}/guideline",
            call_path: "/p/shop/guideline",
            body: None,
            expect: [Unauth, Ok, Ok, Forbidden, Ok],
        },
        Case {
            method: "GET",
            path: "/p/{slug}/guideline/{number}",
            call_path: "/p/shop/guideline/99",
            body: None,
            expect: [Unauth, Refused, Refused, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/rpc/guideline/draft",
            call_path: "/rpc/guideline/draft",
            body: form(json!({"slug": "shop"})),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Ok],
        },
        Case {
            method: "POST",
            path: "/rpc/guideline/save-draft",
            call_path: "/rpc/guideline/save-draft",
            body: json_body(
                json!({"slug": "shop", "rules": [{"id": "bad id!", "title": "", "body": "",
                   "capabilities": [], "dimension": null, "examples": []}]}),
            ),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/rpc/guideline/search-pairs",
            call_path: "/rpc/guideline/search-pairs",
            body: form(json!({"slug": "shop", "text": "x"})),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/rpc/guideline/publish",
            call_path: "/rpc/guideline/publish",
            body: form(json!({"slug": "shop", "note": "authz"})),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        Case {
            method: "GET",
            path: "/p/{slug}/guideline/edit",
            call_path: "/p/shop/guideline/edit",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Ok],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/review",
            call_path: "/api/v1/projects/shop/review",
            body: None,
            expect: [Unauth, Forbidden, Ok, Forbidden, Ok],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/review/{pair_id}",
            call_path: "/api/v1/projects/shop/review/999999",
            body: None,
            expect: [Unauth, Forbidden, Refused, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/api/v1/projects/{slug}/review/{pair_id}",
            call_path: "/api/v1/projects/shop/review/999999",
            body: json_body(json!({"label": "L3", "note": "authz"})),
            expect: [Unauth, Forbidden, Refused, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/rpc/projects/list",
            call_path: "/rpc/projects/list",
            body: form(json!({})),
            expect: [Unauth, Ok, Ok, Ok, Ok],
        },
        Case {
            method: "POST",
            path: "/rpc/session/login",
            call_path: "/rpc/session/login",
            body: form(json!({"username": "nobody", "password": "wrong password"})),
            expect: [Refused, Refused, Refused, Refused, Refused],
        },
        Case {
            method: "POST",
            path: "/rpc/annotate/next",
            call_path: "/rpc/annotate/next",
            body: form(json!({"slug": "shop"})),
            expect: [Unauth, Ok, Forbidden, Forbidden, Forbidden],
        },
        Case {
            method: "POST",
            path: "/rpc/annotate/submit",
            call_path: "/rpc/annotate/submit",
            body: json_body(json!({"slug": "shop", "form": {
                   "pair_id": 1, "lease_id": null, "label": "L9", "rules": [], "duration_ms": 1,
                   "guideline_version_id": null, "idempotency_key": "authz-rpc", "revise": false}})),
            expect: [Unauth, Refused, Forbidden, Forbidden, Forbidden],
        },
        Case {
            method: "POST",
            path: "/rpc/annotate/skip",
            call_path: "/rpc/annotate/skip",
            body: form(json!({"slug": "shop", "pair_id": 999_999})),
            expect: [Unauth, Refused, Forbidden, Forbidden, Forbidden],
        },
        Case {
            method: "POST",
            path: "/rpc/annotate/guideline",
            call_path: "/rpc/annotate/guideline",
            body: form(json!({"slug": "shop"})),
            expect: [Unauth, Ok, Ok, Forbidden, Ok],
        },
        Case {
            method: "POST",
            path: "/rpc/annotate/progress",
            call_path: "/rpc/annotate/progress",
            body: form(json!({"slug": "shop"})),
            expect: [Unauth, Ok, Forbidden, Forbidden, Forbidden],
        },
        // Members: project admins only. The bodies are refused on content (an unknown
        // role, a role nobody holds) once access is granted, so nothing changes.
        Case {
            method: "POST",
            path: "/rpc/members/list",
            call_path: "/rpc/members/list",
            body: form(json!({"slug": "shop"})),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Ok],
        },
        Case {
            method: "POST",
            path: "/rpc/members/add",
            call_path: "/rpc/members/add",
            body: form(
                json!({"slug": "shop", "username": "newcomer", "role": "emperor", "password": ""}),
            ),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        Case {
            method: "POST",
            path: "/rpc/members/revoke",
            call_path: "/rpc/members/revoke",
            body: form(json!({"slug": "shop", "user_id": 999_999, "role": "annotator"})),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        // Pages render for anyone, except where noted; their data comes through the server
        // functions above.
        Case {
            method: "GET",
            path: "/",
            call_path: "/",
            body: None,
            expect: [Ok, Ok, Ok, Ok, Ok],
        },
        Case {
            method: "GET",
            path: "/login",
            call_path: "/login",
            body: None,
            expect: [Ok, Ok, Ok, Ok, Ok],
        },
        Case {
            method: "GET",
            path: "/p/{slug}/annotate",
            call_path: "/p/shop/annotate",
            body: None,
            expect: [Ok, Ok, Ok, Ok, Ok],
        },
        // The members page renders after its data, so a refusal shows in its status.
        Case {
            method: "GET",
            path: "/p/{slug}/export",
            call_path: "/p/shop/export",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Ok],
        },
        Case {
            method: "GET",
            path: "/p/{slug}/settings",
            call_path: "/p/shop/settings",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Ok],
        },
        Case {
            method: "GET",
            path: "/p/{slug}/members",
            call_path: "/p/shop/members",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Ok],
        },
        Case {
            method: "POST",
            path: "/rpc/settings/get",
            call_path: "/rpc/settings/get",
            body: form(json!({"slug": "shop"})),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Ok],
        },
        Case {
            method: "POST",
            path: "/rpc/settings/update",
            call_path: "/rpc/settings/update",
            body: form(
                json!({"slug": "shop", "task": "nope", "overlap_k": 3, "gold_percent": 5,
                              "lease_minutes": 10}),
            ),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        // The JSON twins of the annotator's, the editor's and the admin's server functions:
        // each calls the same service as its server function and must answer alike (see
        // `every_server_function_has_a_json_twin_that_answers_alike`).
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/progress",
            call_path: "/api/v1/projects/shop/progress",
            body: None,
            expect: [Unauth, Ok, Forbidden, Forbidden, Forbidden],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/guideline",
            call_path: "/api/v1/projects/shop/guideline",
            body: None,
            expect: [Unauth, Ok, Ok, Forbidden, Ok],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/guideline/draft",
            call_path: "/api/v1/projects/shop/guideline/draft",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Ok],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/pairs",
            call_path: "/api/v1/projects/shop/pairs?search=x",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/members",
            call_path: "/api/v1/projects/shop/members",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Ok],
        },
        Case {
            method: "POST",
            path: "/api/v1/projects/{slug}/members",
            call_path: "/api/v1/projects/shop/members",
            body: json_body(json!({"username": "newcomer", "role": "emperor"})),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        Case {
            method: "DELETE",
            path: "/api/v1/projects/{slug}/members/{user_id}/roles/{role}",
            call_path: "/api/v1/projects/shop/members/999999/roles/annotator",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        Case {
            method: "GET",
            path: "/api/v1/projects/{slug}/settings",
            call_path: "/api/v1/projects/shop/settings",
            body: None,
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Ok],
        },
        Case {
            method: "PUT",
            path: "/api/v1/projects/{slug}/settings",
            call_path: "/api/v1/projects/shop/settings",
            body: json_body(json!({"task": "nope", "overlap_k": 3, "gold_percent": 5,
                                   "lease_minutes": 10, "reveal_models": false})),
            expect: [Unauth, Forbidden, Forbidden, Forbidden, Refused],
        },
        // Logging out is harmless for anyone; it runs last so the sessions stay usable.
        Case {
            method: "DELETE",
            path: "/api/v1/session",
            call_path: "/api/v1/session",
            body: None,
            expect: [Ok, Ok, Ok, Ok, Ok],
        },
        Case {
            method: "POST",
            path: "/rpc/session/logout",
            call_path: "/rpc/session/logout",
            body: form(json!({})),
            expect: [Ok, Ok, Ok, Ok, Ok],
        },
    ]
}

/// Every server function and the JSON route that offers the same action: both call one
/// service, so they must admit and refuse the same callers.
const TWINS: &[(&str, &str, &str)] = &[
    ("/rpc/projects/list", "GET", "/api/v1/projects"),
    ("/rpc/session/login", "POST", "/api/v1/session"),
    ("/rpc/session/logout", "DELETE", "/api/v1/session"),
    ("/rpc/annotate/next", "POST", "/api/v1/projects/{slug}/next"),
    (
        "/rpc/annotate/submit",
        "POST",
        "/api/v1/projects/{slug}/judgments",
    ),
    (
        "/rpc/annotate/skip",
        "POST",
        "/api/v1/projects/{slug}/skips",
    ),
    (
        "/rpc/annotate/progress",
        "GET",
        "/api/v1/projects/{slug}/progress",
    ),
    (
        "/rpc/annotate/guideline",
        "GET",
        "/api/v1/projects/{slug}/guideline",
    ),
    (
        "/rpc/quality/dashboard",
        "GET",
        "/api/v1/projects/{slug}/quality",
    ),
    ("/rpc/review/list", "GET", "/api/v1/projects/{slug}/review"),
    (
        "/rpc/review/pair",
        "GET",
        "/api/v1/projects/{slug}/review/{pair_id}",
    ),
    (
        "/rpc/review/decide",
        "POST",
        "/api/v1/projects/{slug}/review/{pair_id}",
    ),
    (
        "/rpc/review/rereview",
        "POST",
        "/api/v1/projects/{slug}/rereview/{pair_id}",
    ),
    (
        "/rpc/guideline/versions",
        "GET",
        "/api/v1/projects/{slug}/guideline/versions",
    ),
    (
        "/rpc/guideline/version",
        "GET",
        "/api/v1/projects/{slug}/guideline/versions/{number}",
    ),
    (
        "/rpc/guideline/send-rereview",
        "POST",
        "/api/v1/projects/{slug}/guideline/versions/{number}/rereview",
    ),
    (
        "/rpc/guideline/draft",
        "GET",
        "/api/v1/projects/{slug}/guideline/draft",
    ),
    (
        "/rpc/guideline/save-draft",
        "PUT",
        "/api/v1/projects/{slug}/guideline/draft",
    ),
    (
        "/rpc/guideline/search-pairs",
        "GET",
        "/api/v1/projects/{slug}/pairs",
    ),
    (
        "/rpc/guideline/publish",
        "POST",
        "/api/v1/projects/{slug}/guideline/publish",
    ),
    (
        "/rpc/members/list",
        "GET",
        "/api/v1/projects/{slug}/members",
    ),
    (
        "/rpc/members/add",
        "POST",
        "/api/v1/projects/{slug}/members",
    ),
    (
        "/rpc/members/revoke",
        "DELETE",
        "/api/v1/projects/{slug}/members/{user_id}/roles/{role}",
    ),
    (
        "/rpc/settings/get",
        "GET",
        "/api/v1/projects/{slug}/settings",
    ),
    (
        "/rpc/settings/update",
        "PUT",
        "/api/v1/projects/{slug}/settings",
    ),
];

/// A script can do everything a page can: every server function has a JSON twin in the
/// OpenAPI document, and the table expects the two to answer every caller alike. Login is
/// the one exception, on purpose: the page's server function answers a wrong password as
/// `BadCredentials` (a refusal the form shows), the API as 401, which scripts expect.
#[test]
fn every_server_function_has_a_json_twin_that_answers_alike() {
    let table = table();
    let expect = |method: &str, path: &str| {
        table
            .iter()
            .find(|c| c.method == method && c.path == path)
            .map(|c| c.expect)
    };
    let twinned: BTreeSet<&str> = TWINS.iter().map(|(rpc, _, _)| *rpc).collect();
    let lonely: Vec<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .filter(|path| !twinned.contains(path))
        .collect();
    assert!(
        lonely.is_empty(),
        "server functions with no JSON twin: {lonely:?}"
    );
    let mut differ = Vec::new();
    for (rpc, method, json) in TWINS {
        let page = expect("POST", rpc).unwrap_or_else(|| panic!("{rpc} is not in the table"));
        let api =
            expect(method, json).unwrap_or_else(|| panic!("{method} {json} is not in the table"));
        if *rpc == "/rpc/session/login" {
            assert_eq!(page, [Refused; 5], "{rpc}");
            assert_eq!(api, [Unauth; 5], "{method} {json}");
        } else if page != api {
            differ.push(format!("{rpc} {page:?} but {method} {json} {api:?}"));
        }
    }
    assert!(
        differ.is_empty(),
        "twins that answer differently:\n{}",
        differ.join("\n")
    );
}

/// Every route the server has: JSON API paths from the OpenAPI document, server
/// functions from their registry, pages from the router.
async fn every_route(state: &AppState) -> BTreeSet<(String, String)> {
    let request = Request::get("/api/v1/openapi.json")
        .body(Body::empty())
        .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        routes.insert((method.to_string(), path.to_owned()));
    }
    for path in relabel::web::page_paths() {
        routes.insert(("GET".to_owned(), path));
    }
    routes
}

fn classify(status: StatusCode, body: &str) -> Outcome {
    if body.contains("Unauthorized") || status == StatusCode::UNAUTHORIZED {
        Unauth
    } else if body.contains("Forbidden") || status == StatusCode::FORBIDDEN {
        Forbidden
    } else if body.contains("Refused")
        || body.contains("BadCredentials")
        || matches!(
            status,
            StatusCode::BAD_REQUEST
                | StatusCode::NOT_FOUND
                | StatusCode::CONFLICT
                | StatusCode::UNPROCESSABLE_ENTITY
        )
    {
        Refused
    } else if status.is_success() || status.is_redirection() {
        Ok
    } else {
        panic!("unexpected answer {status}: {body}")
    }
}

fn encode(body: &Value) -> String {
    body.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            format!("{k}={}", v.replace(' ', "+"))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A request body: its content type and fields.
type Fields = Option<(&'static str, Value)>;

/// Calls `path` as the holder of `cookie`; how the call came out.
async fn call(
    state: &AppState,
    cookie: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&(&str, Value)>,
) -> Outcome {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let request = match body {
        Some((kind, body)) => {
            let text = if *kind == "application/json" {
                body.to_string()
            } else {
                encode(body)
            };
            request
                .header(header::CONTENT_TYPE, *kind)
                .body(Body::from(text))
        }
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    // A page's HTML carries its server functions' results; judge pages by status.
    let is_page = !(path.starts_with("/api") || path.starts_with("/rpc"));
    let body = if is_page {
        String::new()
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    classify(status, &body)
}

#[tokio::test]
async fn every_route_answers_each_role_as_the_table_says() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let shop = project(store, "shop").await;
        let elsewhere = project(store, "elsewhere").await;
        let hash = hash_password(PASSWORD).unwrap();
        for (name, project_id, role) in [
            ("annotator", Some(shop.id), Role::Annotator),
            ("reviewer", Some(shop.id), Role::Reviewer),
            ("outsider", Some(elsewhere.id), Role::Annotator),
            ("admin", None, Role::Admin),
        ] {
            let id = store
                .create_user(name, &hash, relabel::domain::now_ms())
                .await
                .unwrap();
            store
                .grant_role(id, project_id, role, None, relabel::domain::now_ms())
                .await
                .unwrap();
        }
        let state = AppState::new(store.clone(), std::path::Path::new("target/site"));
        let table = table();

        let known: BTreeSet<(String, String)> = table
            .iter()
            .map(|c| (c.method.to_owned(), c.path.to_owned()))
            .collect();
        let unknown: Vec<_> = every_route(&state)
            .await
            .difference(&known)
            .cloned()
            .collect();
        assert!(
            unknown.is_empty(),
            "routes missing from the authorization table: {unknown:?}"
        );

        let mut cookies = vec![None];
        for name in &CALLERS[1..] {
            cookies.push(Some(support::login_cookie(&state, name, PASSWORD).await));
        }
        let mut wrong = Vec::new();
        for case in &table {
            for (i, caller) in CALLERS.iter().enumerate() {
                let got = call(
                    &state,
                    cookies[i].as_deref(),
                    case.method,
                    case.call_path,
                    case.body.as_ref(),
                )
                .await;
                if got != case.expect[i] {
                    wrong.push(format!(
                        "{} {} as {caller}: expected {:?}, got {got:?}",
                        case.method, case.call_path, case.expect[i]
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{}:\n{}", db.name, wrong.join("\n"));
        db
    })
    .await;
}

/// Ids from another project, under the address of a project the caller may act in:
/// every route and server function that takes a pair, user or version from the caller
/// must answer "not found" and leave the other project as it was.
#[tokio::test]
async fn another_projects_ids_under_this_projects_address_are_not_found() {
    each_backend(|db: TestDb| async move {
        let store = &db.store;
        let shop = project(store, "shop").await;
        let elsewhere = project(store, "elsewhere").await;
        for (p, item) in [(&shop, "mine"), (&elsewhere, "theirs")] {
            let record = relabel::domain::PairRecord::new("boots", item, item);
            relabel::import::import_records(store.as_ref(), p, &[record], "authz")
                .await
                .unwrap();
        }
        let theirs = store.export_page(&elsewhere, 0, 1).await.unwrap()[0].pair_id;
        let hash = hash_password(PASSWORD).unwrap();
        let mut ids = std::collections::HashMap::new();
        for (name, project_id, role) in [
            ("ana", shop.id, Role::Annotator),
            ("boss", shop.id, Role::Admin),
            ("victim", elsewhere.id, Role::Annotator),
        ] {
            let id = store
                .create_user(name, &hash, relabel::domain::now_ms())
                .await
                .unwrap();
            store
                .grant_role(id, Some(project_id), role, None, relabel::domain::now_ms())
                .await
                .unwrap();
            ids.insert(name, id);
        }
        // The other project has a judgment, a guideline version and a member to lose.
        let judged = relabel::queue::JudgmentInput {
            pair_id: theirs,
            lease_id: None,
            label: Some("L2".into()),
            rules: vec![],
            rationale: None,
            duration_ms: None,
            guideline_version_id: None,
            idempotency_key: "victim-1".into(),
            ranking: None,
        };
        relabel::queue::submit(store.as_ref(), &elsewhere, ids["victim"], &judged, false)
            .await
            .unwrap();
        let state = AppState::new(store.clone(), std::path::Path::new("target/site"));
        let ana = support::login_cookie(&state, "ana", PASSWORD).await;
        let boss = support::login_cookie(&state, "boss", PASSWORD).await;
        let victim = ids["victim"];
        let before = (
            store.judgments(&elsewhere).await.unwrap(),
            store.decisions(&elsewhere, theirs).await.unwrap().len(),
            store.project_members(&elsewhere).await.unwrap().len(),
            store.stats(&elsewhere).await.unwrap(),
        );

        let pair_path = |p: &str| p.replace("{pair}", &theirs.to_string());
        let judgment = json!({"pair_id": theirs, "label": "L3", "rules": [],
                              "idempotency_key": "cross-1"});
        let cases: Vec<(&str, &str, String, Fields)> = vec![
            (
                "ana",
                "POST",
                "/api/v1/projects/shop/judgments".into(),
                Some(("application/json", judgment.clone())),
            ),
            (
                "ana",
                "POST",
                "/api/v1/projects/shop/skips".into(),
                Some(("application/json", json!({"pair_id": theirs}))),
            ),
            (
                "boss",
                "GET",
                pair_path("/api/v1/projects/shop/review/{pair}"),
                None,
            ),
            (
                "boss",
                "POST",
                pair_path("/api/v1/projects/shop/review/{pair}"),
                Some(("application/json", json!({"label": "L1", "note": "x"}))),
            ),
            (
                "boss",
                "POST",
                pair_path("/api/v1/projects/shop/rereview/{pair}"),
                Some(("application/json", json!({"label": "L1", "note": "x"}))),
            ),
            (
                "ana",
                "POST",
                "/rpc/annotate/skip".into(),
                Some((
                    "application/x-www-form-urlencoded",
                    json!({"slug": "shop", "pair_id": theirs}),
                )),
            ),
            (
                "ana",
                "POST",
                "/rpc/annotate/submit".into(),
                Some((
                    "application/json",
                    json!({"slug": "shop", "form": {"pair_id": theirs,
                 "lease_id": null, "label": "L3", "rules": [], "rationale": null,
                 "duration_ms": 1, "guideline_version_id": null, "idempotency_key": "cross-2",
                 "revise": false, "ranking": null}}),
                )),
            ),
            (
                "boss",
                "POST",
                "/rpc/review/pair".into(),
                Some((
                    "application/x-www-form-urlencoded",
                    json!({"slug": "shop", "pair_id": theirs}),
                )),
            ),
            (
                "boss",
                "POST",
                "/rpc/review/decide".into(),
                Some((
                    "application/x-www-form-urlencoded",
                    json!({"slug": "shop", "pair_id": theirs, "label": "L1"}),
                )),
            ),
            (
                "boss",
                "POST",
                "/rpc/review/rereview".into(),
                Some((
                    "application/x-www-form-urlencoded",
                    json!({"slug": "shop", "pair_id": theirs, "label": "L1"}),
                )),
            ),
            (
                "boss",
                "POST",
                "/rpc/members/revoke".into(),
                Some((
                    "application/x-www-form-urlencoded",
                    json!({"slug": "shop", "user_id": victim, "role": "annotator"}),
                )),
            ),
            ("boss", "GET", pair_path("/p/shop/review/{pair}"), None),
        ];
        let mut wrong = Vec::new();
        for (who, method, path, body) in &cases {
            let cookie = if *who == "ana" { &ana } else { &boss };
            let got = call(&state, Some(cookie), method, path, body.as_ref()).await;
            if got != Refused {
                wrong.push(format!("{method} {path} as {who}: {got:?}, not refused"));
            }
        }
        let after = (
            store.judgments(&elsewhere).await.unwrap(),
            store.decisions(&elsewhere, theirs).await.unwrap().len(),
            store.project_members(&elsewhere).await.unwrap().len(),
            store.stats(&elsewhere).await.unwrap(),
        );
        assert!(wrong.is_empty(), "{}:\n{}", db.name, wrong.join("\n"));
        assert_eq!(before, after, "{}: the other project changed", db.name);
        println!("{}: {} cross-project calls refused", db.name, cases.len());
        db
    })
    .await;
}
