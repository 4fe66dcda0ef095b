//! The labeling workspace: one pair at a time, the guideline beside it, keyboard first.
//!
//! Keys: `1`..`N` pick a label, `Enter` submits, `S` skips, `U` revises the last
//! judgment, `/` searches the guideline (Enter there cites the first matching rule),
//! `R` writes a rationale; `Esc` leaves a field.
//! The page claims a pair only after it is hydrated, through a POST server function:
//! loading the page (a GET) never changes anything.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::server_fns::annotate::guideline::guideline;
use crate::server_fns::annotate::next::claim_next;
use crate::server_fns::annotate::progress::my_progress;
use crate::server_fns::annotate::skip::skip_pair;
use crate::server_fns::annotate::submit::submit_judgment;
use crate::types::{
    Citation, ClaimedPair, GuidelineView, JudgmentForm, PairView, RuleExampleView, RuleView,
};

/// Milliseconds since the epoch in the browser (0 on the server, where nothing is timed).
fn browser_now() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0
    }
}

/// A random token for idempotency keys: keys are unique across all annotators, and a
/// lease id alone is not (SQLite reuses the ids of deleted leases).
fn browser_nonce() -> String {
    #[cfg(feature = "hydrate")]
    {
        format!("{:012x}", (js_sys::Math::random() * 2f64.powi(48)) as u64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// The rules matching a search text (id or any word of title or body) and capability.
pub fn matching_rules<'a>(
    rules: &'a [RuleView],
    search: &str,
    capability: &str,
) -> Vec<&'a RuleView> {
    let needle = search.trim().to_lowercase();
    rules
        .iter()
        .filter(|r| capability.is_empty() || r.capabilities.iter().any(|c| c == capability))
        .filter(|r| {
            needle.is_empty()
                || r.id.to_lowercase().contains(&needle)
                || r.title.to_lowercase().contains(&needle)
                || r.body.to_lowercase().contains(&needle)
        })
        .collect()
}

/// The pair being judged, and how: a first judgment under a lease, or a revision.
#[derive(Debug, Clone, PartialEq)]
enum Task {
    Judge(ClaimedPair),
    Revise(PairView),
}

impl Task {
    fn pair(&self) -> &PairView {
        match self {
            Self::Judge(c) => &c.pair,
            Self::Revise(p) => p,
        }
    }
}

/// The workspace page at `/p/{slug}/annotate`.
#[component]
pub fn AnnotatePage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();

    let refresh = RwSignal::new(0u32);
    let guide = Resource::new(slug, guideline);
    let progress = Resource::new(move || (slug(), refresh.get()), |(s, _)| my_progress(s));

    let current = RwSignal::new(None::<ClaimedPair>);
    let revising = RwSignal::new(None::<PairView>);
    let last = RwSignal::new(None::<(PairView, String)>);
    let finished = RwSignal::new(false);
    let label = RwSignal::new(None::<String>);
    let cited = RwSignal::new(Vec::<Citation>::new());
    let rationale = RwSignal::new(String::new());
    let shown_at = RwSignal::new(0i64);
    // Made once per pair shown, so a retried submit of the same judgment reuses its key.
    let nonce = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let search = RwSignal::new(String::new());
    let capability = RwSignal::new(String::new());

    let task = Memo::new(move |_| match (revising.get(), current.get()) {
        (Some(p), _) => Some(Task::Revise(p)),
        (None, Some(c)) => Some(Task::Judge(c)),
        (None, None) => None,
    });

    let claim = Action::new(move |slug: &String| claim_next(slug.clone()));
    let submit = Action::new(move |(slug, form): &(String, JudgmentForm)| {
        submit_judgment(slug.clone(), form.clone())
    });
    let skip =
        Action::new(move |(slug, pair_id): &(String, i64)| skip_pair(slug.clone(), *pair_id));

    // Claim the first pair once hydrated (effects run only in the browser).
    Effect::new(move |_| {
        claim.dispatch(slug());
    });
    Effect::new(move |_| match claim.value().get() {
        Some(Ok(Some(c))) => {
            current.set(Some(c));
            label.set(None);
            cited.set(Vec::new());
            rationale.set(String::new());
            shown_at.set(browser_now());
            nonce.set(browser_nonce());
            finished.set(false);
        }
        Some(Ok(None)) => {
            current.set(None);
            finished.set(true);
        }
        Some(Err(e)) => message.set(Some(e.to_string())),
        None => {}
    });
    Effect::new(move |_| {
        if let Some(result) = submit.value().get() {
            match result {
                Ok((_, revision)) => {
                    refresh.update(|n| *n += 1);
                    if revision > 1 {
                        revising.set(None);
                        message.set(Some("Revised.".into()));
                    } else {
                        message.set(None);
                        claim.dispatch(slug());
                    }
                    label.set(None);
                    cited.set(Vec::new());
                    rationale.set(String::new());
                }
                Err(e) => message.set(Some(e.to_string())),
            }
        }
    });
    Effect::new(move |_| {
        if let Some(result) = skip.value().get() {
            match result {
                Ok(()) => {
                    refresh.update(|n| *n += 1);
                    claim.dispatch(slug());
                }
                Err(e) => message.set(Some(e.to_string())),
            }
        }
    });

    let labels = move || {
        progress
            .get()
            .and_then(Result::ok)
            .map(|p| p.labels)
            .unwrap_or_default()
    };
    let version_id = move || {
        guide
            .get()
            .and_then(Result::ok)
            .flatten()
            .map(|g: GuidelineView| g.version_id)
    };

    let do_submit = move || {
        let Some(task) = task.get_untracked() else {
            return;
        };
        let Some(chosen) = label.get_untracked() else {
            message.set(Some("Pick a label first (keys 1 to 4).".into()));
            return;
        };
        let pair = task.pair().clone();
        let (lease_id, revise, key) = match &task {
            Task::Judge(c) => (
                Some(c.lease_id),
                false,
                format!(
                    "j-{}-{}-{}",
                    pair.pair_id,
                    c.lease_id,
                    nonce.get_untracked()
                ),
            ),
            Task::Revise(p) => (
                None,
                true,
                format!("r-{}-{}-{}", p.pair_id, browser_now(), browser_nonce()),
            ),
        };
        let form = JudgmentForm {
            pair_id: pair.pair_id,
            lease_id,
            label: Some(chosen.clone()),
            rules: cited.get_untracked(),
            rationale: Some(rationale.get_untracked().trim().to_owned()).filter(|r| !r.is_empty()),
            duration_ms: (browser_now() - shown_at.get_untracked()).max(0),
            guideline_version_id: version_id(),
            idempotency_key: key,
            revise,
            ranking: None,
            step_flags: Vec::new(),
            corrected_cot: None,
        };
        last.set(Some((pair, chosen)));
        submit.dispatch((slug(), form));
    };
    let do_skip = move || {
        if let Some(Task::Judge(c)) = task.get_untracked() {
            skip.dispatch((slug(), c.pair.pair_id));
        }
    };
    let do_revise = move || {
        if let Some((pair, previous)) = last.get_untracked() {
            revising.set(Some(pair));
            label.set(Some(previous));
            cited.set(Vec::new());
            rationale.set(String::new());
            message.set(Some(
                "Revising your last judgment: pick a label, then Enter.".into(),
            ));
        }
    };
    let cite = move |id: String| {
        cited.update(|list| {
            if !list.iter().any(|c| c.id == id) {
                list.push(Citation {
                    id,
                    violated: false,
                });
            }
        });
    };
    let cite_first_match = move || {
        let rules = guide
            .get_untracked()
            .and_then(Result::ok)
            .flatten()
            .map(|g| g.rules)
            .unwrap_or_default();
        let needle = search.get_untracked();
        let exact = rules
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(needle.trim()));
        let found = exact
            .or_else(|| {
                matching_rules(&rules, &needle, &capability.get_untracked())
                    .into_iter()
                    .next()
            })
            .map(|r| r.id.clone());
        match found {
            Some(id) => {
                cite(id);
                search.set(String::new());
            }
            None => message.set(Some(format!("No rule matches {needle:?}."))),
        }
    };

    // Keyboard: active everywhere except while typing in a field.
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            use leptos::wasm_bindgen::JsCast;
            let in_field = ev
                .target()
                .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
                .is_some_and(|el| {
                    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                });
            if in_field {
                // Escape hands the keys back to the workspace.
                if ev.key() == "Escape"
                    && let Some(el) = ev
                        .target()
                        .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlElement>().ok())
                {
                    let _ = el.blur();
                }
                return;
            }
            let key = ev.key();
            match key.as_str() {
                "Enter" => {
                    ev.prevent_default();
                    do_submit();
                }
                "s" | "S" => do_skip(),
                "u" | "U" => do_revise(),
                "/" | "r" | "R" => {
                    ev.prevent_default();
                    let field = if key == "/" {
                        "rule-search"
                    } else {
                        "rationale"
                    };
                    if let Some(el) = leptos::prelude::document().get_element_by_id(field)
                        && let Ok(input) = el.dyn_into::<leptos::web_sys::HtmlElement>()
                    {
                        let _ = input.focus();
                    }
                }
                digit => {
                    if let Ok(n) = digit.parse::<usize>()
                        && n >= 1
                        && let Some(l) = labels().get(n - 1)
                    {
                        label.set(Some(l.clone()));
                    }
                }
            }
        });
        on_cleanup(move || handle.remove());
    });

    view! {
            <section class="workspace">
                <div class="progress-strip" id="progress">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            progress
                                .await
                                .ok()
                                .map(|p| {
                                    let pct = if p.wanted > 0 { 100 * p.judgments / p.wanted } else { 0 };
                                    format!(
                                        "Judged today: {} · Left for you: {} · Project: {} of {} judgments ({pct}%)",
                                        p.judged_today,
                                        p.left_for_me,
                                        p.judgments,
                                        p.wanted,
                                    )
                                })
                        })}
                    </Transition>
                </div>
                <Show when=move || message.get().is_some()>
                    <p class="notice" role="status" id="message">
                        {move || message.get()}
                    </p>
                </Show>
                <div class="workspace-grid">
                    <div class="task">
                        {move || match task.get() {
                            Some(t) => view! { <PairPanel task=t /> }.into_any(),
                            None if finished.get() => {
                                view! {
                                    <p class="empty" id="queue-empty">
                                        "Nothing left for you in this project. Thank you!"
                                    </p>
                                }
                                    .into_any()
                            }
                            None => view! { <p class="empty">"Loading the next pair…"</p> }.into_any(),
                        }}
                        <div class="labels" role="group" aria-label="Label">
                            <Transition fallback=|| ()>
                            <For
                                each=move || labels().into_iter().enumerate()
                                key=|(i, l)| (*i, l.clone())
                                children=move |(i, l)| {
                                    let value = l.clone();
                                    let data_label = l.clone();
                                    let chosen = {
                                        let l = l.clone();
                                        move || label.get().as_deref() == Some(l.as_str())
                                    };
                                    view! {
                                        <button
                                            class="label"
                                            class:chosen=chosen
                                            data-label=data_label
                                            on:click=move |_| label.set(Some(value.clone()))
                                        >
                                            <kbd>{i + 1}</kbd>
                                            {l}
                                        </button>
                                    }
                                }
                            />
                            </Transition>
                        </div>
                        <div class="cited" id="cited">
                            <For
                                each=move || cited.get()
                                key=|c| (c.id.clone(), c.violated)
                                children=move |c| {
                                    let id = c.id.clone();
                                    let toggle = {
                                        let id = id.clone();
                                        move |_| {
                                            cited
                                                .update(|list| {
                                                    if let Some(x) = list.iter_mut().find(|x| x.id == id) {
                                                        x.violated = !x.violated;
                                                    }
                                                })
                                        }
                                    };
                                    view! {
                                        <button class="chip" class:violated=c.violated on:click=toggle>
                                            {c.id.clone()}
                                            {if c.violated { " violated" } else { " applies" }}
                                        </button>
                                    }
                                }
                            />
                        </div>
                        <label class="rationale">
                            <span>
                                <kbd>"R"</kbd>
                                " Rationale (optional; Esc returns to the keys)"
                            </span>
                            <textarea
                                id="rationale"
                                rows="2"
                                maxlength="10000"
                                prop:value=rationale
                                on:input=move |ev| rationale.set(event_target_value(&ev))
                            ></textarea>
                        </label>
                        <div class="actions">
                            <button id="submit" on:click=move |_| do_submit()>
                                <kbd>"Enter"</kbd>
                                " Submit"
                            </button>
                            <button id="skip" on:click=move |_| do_skip()>
                                <kbd>"S"</kbd>
                                " Skip"
                            </button>
                            <button id="revise" on:click=move |_| do_revise()>
                                <kbd>"U"</kbd>
                                " Revise last"
                            </button>
                        </div>
                    </div>
                    <aside class="guideline">
    <h2>
                            "Guideline "
                            <Transition fallback=|| ()>
                                {move || Suspend::new(async move {
                                    guide.await.ok().flatten().map(|g| format!("v{}", g.number))
                                })}
                            </Transition>
                        </h2>
                        <input
                            type="search"
                            id="rule-search"
                            placeholder="Search rules (/), Enter cites"
                            prop:value=search
                            on:input=move |ev| search.set(event_target_value(&ev))
                            on:keydown=move |ev| {
                                if ev.key() == "Enter" {
                                    ev.prevent_default();
                                    cite_first_match();
                                    if let Some(t) = ev.target() {
                                        use leptos::wasm_bindgen::JsCast;
                                        if let Ok(el) = t.dyn_into::<leptos::web_sys::HtmlElement>() {
                                            let _ = el.blur();
                                        }
                                    }
                                }
                            }
                        />
                        <select
                            id="capability"
                            on:change=move |ev| capability.set(event_target_value(&ev))
                        >
                            <option value="">"All capabilities"</option>
                            <option value="knowledge-reasoning">"Knowledge and reasoning"</option>
                            <option value="multimodal">"Multimodal"</option>
                            <option value="rule-adherence">"Rule adherence"</option>
                        </select>
                        <Suspense fallback=|| view! { <p>"Loading the guideline…"</p> }>
                            {move || Suspend::new(async move {
                                let rules = guide.await.ok().flatten().map(|g| g.rules).unwrap_or_default();
                                view! {
                                    <ol class="rules">
                                        {move || {
                                            matching_rules(&rules, &search.get(), &capability.get())
                                                .into_iter()
                                                .map(|r| {
                                                    let id = r.id.clone();
                                                    view! {
                                                        <li class="rule" data-rule=r.id.clone()>
                                                            <button class="rule-id" on:click=move |_| cite(id.clone())>
                                                                {r.id.clone()}
                                                            </button>
                                                            <strong>{r.title.clone()}</strong>
                                                            <p>{r.body.clone()}</p>
                                                            <p class="tags">{r.capabilities.join(" · ")}</p>
                                                            <RuleExamples examples=r.examples.clone() />
                                                        </li>
                                                    }
                                                })
                                                .collect_view()
                                        }}
                                    </ol>
                                }
                            })}
                        </Suspense>
                    </aside>
                </div>
            </section>
        }
}

/// A rule's worked examples, collapsed under it.
#[component]
fn RuleExamples(examples: Vec<RuleExampleView>) -> impl IntoView {
    let count = examples.len();
    (count > 0).then(|| {
        view! {
            <details class="examples">
                <summary>{format!("Examples ({count})")}</summary>
                <ul>
                    {examples
                        .into_iter()
                        .map(|e| {
                            view! {
                                <li class="example">
                                    <span class="example-query">{e.query}</span>
                                    " → "
                                    <span class="example-item">{e.item_title}</span>
                                    ": "
                                    <strong class="example-label">{e.label}</strong>
                                    <span class="example-why">{e.why}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </details>
        }
    })
}

/// The pair in hand: query, item, and the model's reasoning collapsed underneath.
#[component]
fn PairPanel(task: Task) -> impl IntoView {
    let revising = matches!(task, Task::Revise(_));
    let pair = task.pair().clone();
    let price = pair.item.price.map(|p| format!("{p:.2}"));
    let category = pair.item.category.join(" › ");
    let candidates = pair.cot.len();
    view! {
        <article class="pair" id="pair" data-pair-id=pair.pair_id class:revising=revising>
            <p class="query">
                <span class="band" data-band=pair.band.clone()>
                    {pair.band.clone()}
                </span>
                <span id="pair-query">{pair.query.clone()}</span>
            </p>
            <h2 class="item-title">{pair.item.title.clone()}</h2>
            <p class="category">{category}</p>
            {price.map(|p| view! { <p class="price">{p}</p> })}
            <div class="images">
                {pair
                    .item
                    .images
                    .iter()
                    .map(|src| view! { <img src=src.clone() loading="lazy" alt="product image" /> })
                    .collect_view()}
            </div>
            <table class="attributes">
                <tbody>
                    {pair
                        .item
                        .attributes
                        .iter()
                        .map(|(k, v)| view! {
                            <tr>
                                <th>{k.clone()}</th>
                                <td>{v.clone()}</td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
            {pair.item.description.clone().map(|d| view! { <p class="description">{d}</p> })}
            <Show when=move || { candidates > 0 }>
                <details class="cot">
                    <summary>{format!("Model reasoning ({candidates} candidates)")}</summary>
                    {pair
                        .cot
                        .iter()
                        .map(|c| {
                            view! {
                                <div class="candidate">
                                    <p>
                                        {format!(
                                            "Candidate {} → {}",
                                            c.position + 1,
                                            c.label.clone().unwrap_or_else(|| "no label".into()),
                                        )}
                                    </p>
                                    <ol>
                                        {c.steps.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}
                                    </ol>
                                </div>
                            }
                        })
                        .collect_view()}
                </details>
            </Show>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, title: &str, caps: &[&str]) -> RuleView {
        RuleView {
            id: id.into(),
            title: title.into(),
            body: "The brand asked for must match.".into(),
            capabilities: caps.iter().map(|c| (*c).to_owned()).collect(),
            dimension: None,
            examples: Vec::new(),
        }
    }

    #[test]
    fn rules_are_found_by_id_word_and_capability() {
        let rules = vec![
            rule("R-BRAND-01", "Brand", &["rule-adherence"]),
            rule("R-IMG-01", "Images", &["multimodal"]),
        ];
        let ids = |found: Vec<&RuleView>| found.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(matching_rules(&rules, "brand-01", "")), ["R-BRAND-01"]);
        assert_eq!(ids(matching_rules(&rules, "images", "")), ["R-IMG-01"]);
        assert_eq!(ids(matching_rules(&rules, "", "multimodal")), ["R-IMG-01"]);
        assert_eq!(matching_rules(&rules, "", "").len(), 2);
        assert!(matching_rules(&rules, "colour", "").is_empty());
    }
}
