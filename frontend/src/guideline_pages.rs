//! The guideline's version pages, for every member of a project: the versions at
//! `/p/{slug}/guideline`, and one version at `/p/{slug}/guideline/{number}` with its rules
//! and what changed from the version before (rules added, removed, and changed word by
//! word). Editors, reviewers and admins also see what the changes touch: the judgments
//! that cited a changed or removed rule; editors and admins can send them to re-review.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::error::{AppFnError, set_refusal_status};
use crate::server_fns::guideline::send_rereview::SendRereview;
use crate::server_fns::guideline::version::guideline_version;
use crate::server_fns::guideline::versions::guideline_versions;
use crate::types::{RuleView, VersionListEntry, VersionPageView};

fn refusal(err: &AppFnError) -> String {
    set_refusal_status(err);
    match err {
        AppFnError::Unauthorized => {
            "Log in as a member of this project to read its guideline.".to_owned()
        }
        AppFnError::Forbidden(_) => {
            "Only this project's members can read its guideline.".to_owned()
        }
        AppFnError::Refused(_) => "There is no such guideline version.".to_owned(),
        other => other.to_string(),
    }
}

/// The list of published versions.
#[component]
pub fn GuidelineVersionsPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let versions = Resource::new(slug, guideline_versions);
    view! {
        <section class="guideline-versions">
            <h1>"Guideline of " <code>{slug}</code></h1>
            <Suspense fallback=|| view! { <p>"Loading the versions…"</p> }>
                {move || Suspend::new(async move {
                    match versions.await {
                        Ok(list) => view! { <VersionList list slug=slug() /> }.into_any(),
                        Err(err) => view! { <p class="error" role="alert" id="guideline-denied">{refusal(&err)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn VersionList(list: Vec<VersionListEntry>, slug: String) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <p id="no-versions">
                "No published version yet: " <code>"relabel guideline import"</code> " then "
                <code>"relabel guideline publish"</code> "."
            </p>
        }
        .into_any();
    }
    view! {
        <table class="versions" id="versions">
            <thead>
                <tr>
                    <th>"Version"</th>
                    <th>"Published"</th>
                    <th>"By"</th>
                    <th>"Rules"</th>
                    <th>"Change note"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .rev()
                    .map(|v| {
                        let href = format!("/p/{slug}/guideline/{}", v.number);
                        view! {
                            <tr class="version" data-version=v.number>
                                <td><a href=href>{format!("v{}", v.number)}</a></td>
                                <td>{v.published}</td>
                                <td>{v.author.unwrap_or_default()}</td>
                                <td>{v.rules}</td>
                                <td>{v.change_note}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// One version: what changed, what it touches, and its rules.
#[component]
pub fn GuidelineVersionPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let number = move || {
        params
            .read()
            .get("number")
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let send = ServerAction::<SendRereview>::new();
    let page = Resource::new(
        move || (slug(), number(), send.version().get()),
        |(s, n, _)| guideline_version(s, n),
    );
    let outcome = move || {
        send.value().get().map(|r| match r {
            Ok(n) => view! { <p class="notice" role="status" id="rereview-sent">{format!("Sent {n} judgments to re-review.")}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert" id="rereview-error">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <section class="guideline-version">
            <p><a href=move || format!("/p/{}/guideline", slug())>"All versions"</a></p>
            <Suspense fallback=|| view! { <p>"Loading the version…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(found) => view! { <VersionView found slug=slug() send /> }.into_any(),
                        Err(err) => view! { <p class="error" role="alert" id="guideline-denied">{refusal(&err)}</p> }.into_any(),
                    }
                })}
            </Suspense>
            {outcome}
        </section>
    }
}

#[component]
fn VersionView(
    found: VersionPageView,
    slug: String,
    send: ServerAction<SendRereview>,
) -> impl IntoView {
    let number = found.number;
    let first = number == 1;
    let touched: u64 = found.impact.iter().flatten().map(|i| i.judgments).sum();
    let nothing_changed =
        found.added.is_empty() && found.removed.is_empty() && found.changed.is_empty();
    view! {
        <h1>{format!("Guideline version {number}")}</h1>
        <p class="meta">{found.published.clone()} " · " {found.change_note.clone()}</p>
        <section class="diff" id="version-diff">
            <h2>{if first { "The first version".to_owned() } else { format!("Changes from version {}", number - 1) }}</h2>
            {(!first && nothing_changed).then(|| view! { <p>"No rule changed."</p> })}
            {(!found.added.is_empty()).then(|| view! {
                <h3>"Added"</h3>
                <ul class="added">{found.added.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}</ul>
            })}
            {(!found.removed.is_empty()).then(|| view! {
                <h3>"Removed"</h3>
                <ul class="removed">{found.removed.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}</ul>
            })}
            {(!found.changed.is_empty()).then(|| view! {
                <h3>"Changed"</h3>
                {found.changed.iter().map(|c| {
                    let title = if c.title_before == c.title_after {
                        c.title_after.clone()
                    } else {
                        format!("{} → {}", c.title_before, c.title_after)
                    };
                    let also = [
                        c.examples_changed.then_some("examples changed"),
                        c.tags_changed.then_some("tags changed"),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ");
                    view! {
                        <article class="rule-change" data-rule=c.id.clone()>
                            <h4><code>{c.id.clone()}</code> " " {title}</h4>
                            <p class="word-diff">
                                {c.body.iter().map(|s| match s.op.as_str() {
                                    "added" => view! { <ins>{s.text.clone()}</ins> }.into_any(),
                                    "removed" => view! { <del>{s.text.clone()}</del> }.into_any(),
                                    _ => view! { <span>{s.text.clone()}</span> }.into_any(),
                                }).collect_view()}
                            </p>
                            {(!also.is_empty()).then(|| view! { <p class="also">{also}</p> })}
                        </article>
                    }
                }).collect_view()}
            })}
        </section>
        {found.impact.map(|impact| view! {
            <section class="impact" id="version-impact">
                <h2>"What these changes touch"</h2>
                <table>
                    <thead><tr><th>"Rule"</th><th>"Change"</th><th>"Judgments that cited it before"</th></tr></thead>
                    <tbody>
                        {impact.into_iter().map(|i| {
                            let rule = i.rule.clone();
                            view! {
                                <tr data-rule=rule><td><code>{i.rule}</code></td><td>{i.change}</td><td>{i.judgments}</td></tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                {(found.can_send && touched > 0).then(|| view! {
                    <ActionForm action=send attr:id="send-rereview-form">
                        <input type="hidden" name="slug" value=slug.clone() />
                        <input type="hidden" name="number" value=number />
                        <button type="submit" id="send-rereview">{format!("Send {touched} judgments to re-review")}</button>
                    </ActionForm>
                })}
            </section>
        })}
        <section class="rules" id="version-rules">
            <h2>"Rules"</h2>
            <ol class="rules">
                {found.rules.into_iter().map(|r| view! { <RuleText rule=r /> }).collect_view()}
            </ol>
        </section>
    }
}

/// A rule as read: id, title, the body as sanitized markdown, tags and examples.
#[component]
pub fn RuleText(rule: RuleView) -> impl IntoView {
    view! {
        <li class="rule" data-rule=rule.id.clone()>
            <strong><code>{rule.id.clone()}</code> " " {rule.title.clone()}</strong>
            <div class="rule-body" inner_html=crate::markdown::render(&rule.body)></div>
            <p class="tags">{rule.capabilities.join(" · ")}</p>
            <ul class="examples">
                {rule.examples.into_iter().map(|e| view! {
                    <li>{format!("{} → {}: {} ({})", e.query, e.item_title, e.label, e.why)}</li>
                }).collect_view()}
            </ul>
        </li>
    }
}
