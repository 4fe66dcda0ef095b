//! The review pages, for a project's reviewers and admins: the review queue at
//! `/p/{slug}/review` and one pair at `/p/{slug}/review/{pair_id}`, where the reviewer
//! reads every judgment (rationale, rules cited, guideline version) and the CoT
//! candidates, and records the final label with a note. The decision form is a plain
//! form post that also works before the page is hydrated.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::error::{AppFnError, set_refusal_status};
use crate::server_fns::review::decide::Decide;
use crate::server_fns::review::list::review_queue;
use crate::server_fns::review::pair::review_pair;
use crate::server_fns::review::rereview::DecideRereview;
use crate::types::{ReviewPairView, ReviewQueueView};

/// What a refused visitor reads.
fn refusal(err: &AppFnError) -> String {
    set_refusal_status(err);
    match err {
        AppFnError::Unauthorized => {
            "Log in as a reviewer or admin of this project to review.".to_owned()
        }
        AppFnError::Forbidden(_) => {
            "Only this project's reviewers and admins can review its labels.".to_owned()
        }
        other => other.to_string(),
    }
}

/// The review queue.
#[component]
pub fn ReviewQueuePage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let queue = Resource::new(slug, review_queue);
    view! {
        <section class="review">
            <h1>"Review queue of " <code>{slug}</code></h1>
            <Suspense fallback=|| view! { <p>"Loading the queue…"</p> }>
                {move || Suspend::new(async move {
                    match queue.await {
                        Ok(list) => view! { <QueueList list slug=slug() /> }.into_any(),
                        Err(err) => view! { <p class="error" role="alert" id="review-denied">{refusal(&err)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn QueueList(list: ReviewQueueView, slug: String) -> impl IntoView {
    let shown = list.entries.len();
    view! {
        <p id="review-count">
            {format!("{} pairs await review", list.total)}
            {((shown as i64) < list.total).then(|| format!("; the first {shown} are listed"))}
        </p>
        <table class="review-queue">
            <thead>
                <tr>
                    <th>"Pair"</th>
                    <th>"Query"</th>
                    <th>"Item"</th>
                    <th>"Labels"</th>
                    <th>"Why"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .entries
                    .into_iter()
                    .map(|e| {
                        let href = format!("/p/{slug}/review/{}", e.pair_id);
                        view! {
                            <tr class="review-entry" data-pair=e.pair_id>
                                <td><a href=href>{e.pair_id}</a></td>
                                <td>{e.query}</td>
                                <td>{e.item_title}</td>
                                <td>{e.labels.join(", ")}</td>
                                <td>{e.reasons.join("; ")}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// One pair for review, and the decision form.
#[component]
pub fn ReviewPairPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let pair_id = move || {
        params
            .read()
            .get("pair")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let decide = ServerAction::<Decide>::new();
    let rereview = ServerAction::<DecideRereview>::new();
    let pair = Resource::new(
        move || {
            (
                slug(),
                pair_id(),
                decide.version().get() + rereview.version().get(),
            )
        },
        |(s, p, _)| review_pair(s, p),
    );
    let outcome = move || {
        decide
            .value()
            .get()
            .or_else(|| rereview.value().get())
            .map(|r| match r {
                Ok(()) => {
                    view! { <p class="notice" role="status" id="decision-saved">"Decided."</p> }
                        .into_any()
                }
                Err(e) => {
                    view! { <p class="error" role="alert" id="decision-error">{e.to_string()}</p> }
                        .into_any()
                }
            })
    };
    view! {
        <section class="review">
            <p><a href=move || format!("/p/{}/review", slug())>"Back to the review queue"</a></p>
            <Suspense fallback=|| view! { <p>"Loading the pair…"</p> }>
                {move || Suspend::new(async move {
                    match pair.await {
                        Ok(found) => view! { <PairReview found slug=slug() decide rereview /> }.into_any(),
                        Err(err) => view! { <p class="error" role="alert" id="review-denied">{refusal(&err)}</p> }.into_any(),
                    }
                })}
            </Suspense>
            {outcome}
        </section>
    }
}

#[component]
fn PairReview(
    found: ReviewPairView,
    slug: String,
    decide: ServerAction<Decide>,
    rereview: ServerAction<DecideRereview>,
) -> impl IntoView {
    let pair = found.pair;
    let reasons = if found.reasons.is_empty() {
        "not in the review queue".to_owned()
    } else {
        found.reasons.join("; ")
    };
    let attributes = pair
        .item
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(" · ");
    let current = found.decisions.last().map(|d| d.label.clone());
    let rereviews = (!found.rereviews.is_empty()).then(|| {
        let scale = found.scale.clone();
        let slug = slug.clone();
        view! {
            <section class="rereview" id="rereview">
                <h2>"Re-review: a rule these judgments cited has changed"</h2>
                {found.rereviews.iter().map(|r| {
                    let then = r.rule_before.clone().map(|rule| view! { <ol class="rules"><crate::guideline_pages::RuleText rule /></ol> });
                    let now = r.rule_after.clone().map_or_else(
                        || view! { <p>"Removed."</p> }.into_any(),
                        |rule| view! { <ol class="rules"><crate::guideline_pages::RuleText rule /></ol> }.into_any(),
                    );
                    view! {
                        <article class="rereview-item" data-rule=r.rule.clone()>
                            <p>{format!("{} said {} under version {}, citing {}.", r.annotator, r.label.clone().unwrap_or_default(), r.from_version, r.rule)}</p>
                            <div class="side-by-side">
                                <div class="then"><h3>{format!("Version {}", r.from_version)}</h3>{then}</div>
                                <div class="now"><h3>{format!("Version {}", r.to_version)}</h3>{now}</div>
                            </div>
                        </article>
                    }
                }).collect_view()}
                <ActionForm action=rereview attr:class="decision-form" attr:id="rereview-form">
                    <input type="hidden" name="slug" value=slug />
                    <input type="hidden" name="pair_id" value=pair.pair_id />
                    <label>
                        "The label under the new version"
                        <select name="label" id="rereview-label">
                            {scale.into_iter().map(|l| view! { <option value=l.clone()>{l.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>
                        "Note"
                        <textarea name="note" id="rereview-note" maxlength="4000"></textarea>
                    </label>
                    <button type="submit" id="decide-rereview">"Confirm or change under the new version"</button>
                </ActionForm>
            </section>
        }
    });
    view! {
        {rereviews}
        <h1>"Pair " {pair.pair_id}</h1>
        <p class="reasons" id="review-reasons">{reasons}</p>
        <dl class="pair-facts">
            <dt>"Query"</dt>
            <dd id="review-query">{pair.query.clone()}</dd>
            <dt>"Item"</dt>
            <dd id="review-item">{pair.item.title.clone()}</dd>
            <dt>"Attributes"</dt>
            <dd>{attributes}</dd>
        </dl>
        <h2>"Judgments"</h2>
        <table class="review-judgments" id="review-judgments">
            <thead>
                <tr>
                    <th>"Annotator"</th>
                    <th>"Revision"</th>
                    <th>"Label"</th>
                    <th>"Rules cited"</th>
                    <th>"Guideline"</th>
                    <th>"Rationale"</th>
                </tr>
            </thead>
            <tbody>
                {found
                    .judgments
                    .into_iter()
                    .map(|j| {
                        view! {
                            <tr class="review-judgment">
                                <td>{j.annotator}</td>
                                <td>{j.revision}</td>
                                <td>{j.label.unwrap_or_default()}</td>
                                <td>{j.rules.join(", ")}</td>
                                <td>{j.guideline_version.map(|v| format!("v{v}"))}</td>
                                <td class="rationale">{j.rationale.unwrap_or_default()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <h2>"The model's CoT candidates"</h2>
        <ol class="review-cot">
            {pair
                .cot
                .into_iter()
                .map(|c| {
                    view! {
                        <li class="review-candidate">
                            <p>
                                <strong>{c.label.unwrap_or_else(|| "no label".into())}</strong>
                                " "
                                <span class="model">{c.model.unwrap_or_default()}</span>
                            </p>
                            <ol class="steps">
                                {c.steps.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}
                            </ol>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
        <h2>"Decisions"</h2>
        <ul class="review-decisions" id="review-decisions">
            {found
                .decisions
                .into_iter()
                .map(|d| view! { <li>{format!("{}: {} — {}", d.reviewer, d.label, d.note)}</li> })
                .collect_view()}
        </ul>
        <ActionForm action=decide attr:class="decision-form" attr:id="decision-form">
            <input type="hidden" name="slug" value=slug />
            <input type="hidden" name="pair_id" value=pair.pair_id />
            <label>
                "Final label"
                <select name="label" id="decision-label">
                    {found
                        .scale
                        .into_iter()
                        .map(|l| {
                            let selected = current.as_deref() == Some(l.as_str());
                            view! { <option value=l.clone() selected=selected>{l.clone()}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Note"
                <textarea name="note" id="decision-note" maxlength="4000"></textarea>
            </label>
            <button type="submit" id="decide">"Record the final label"</button>
        </ActionForm>
    }
}
