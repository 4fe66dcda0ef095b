//! The labeling workspace: one pair at a time, the guideline beside it, keyboard first.
//!
//! Keys: `1`..`N` pick a label, `Enter` submits, `S` skips, `U` revises the last
//! judgment, `/` searches the guideline (Enter there cites the first matching rule),
//! `R` writes a rationale; `Esc` leaves a field.
//! The page claims a pair only after it is hydrated, through a POST server function:
//! loading the page (a GET) never changes anything.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use relabel_core::TaskKind;

use crate::rank_order;
use crate::rank_panel::{Phase, RankPanel, RankState, focus_correction};
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
    let last = RwSignal::new(None::<(PairView, Option<String>)>);
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
    let rank = RankState::new();
    let phase = RwSignal::new(Phase::Label);

    let task = Memo::new(move |_| match (revising.get(), current.get()) {
        (Some(p), _) => Some(Task::Revise(p)),
        (None, Some(c)) => Some(Task::Judge(c)),
        (None, None) => None,
    });

    // What the pair in hand asks for: a label, a ranking of its candidates, or both.
    let pair_task = Memo::new(move |_| task.get().map_or(TaskKind::Judge, |t| t.pair().task));
    let start_pair = move |pair: &PairView| {
        rank.reset(pair.cot.len());
        phase.set(if pair.task == TaskKind::Rank {
            Phase::Rank
        } else {
            Phase::Label
        });
    };

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
            start_pair(&c.pair);
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
        let chosen = label.get_untracked();
        let pair = task.pair().clone();
        let ranking_asked = pair.task.ranks();
        if pair.task.judges() && chosen.is_none() {
            message.set(Some("Pick a label first (keys 1 to 4).".into()));
            return;
        }
        if ranking_asked
            && let Some(right) = &chosen
            && !rank.confirmed.get_untracked()
        {
            let reached: Vec<Option<String>> = {
                let mut by_position = pair.cot.clone();
                by_position.sort_by_key(|c| c.position);
                by_position.into_iter().map(|c| c.label).collect()
            };
            if rank
                .groups
                .with_untracked(|g| rank_order::wrong_label_above_right(g, &reached, right))
            {
                rank.confirmed.set(true);
                message.set(Some(format!(
                    "A candidate that did not reach {right} is ranked above one that did. \
                     Press Enter again to submit this order, or change it."
                )));
                return;
            }
        }
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
            label: chosen.clone(),
            rules: cited.get_untracked(),
            rationale: Some(rationale.get_untracked().trim().to_owned()).filter(|r| !r.is_empty()),
            duration_ms: (browser_now() - shown_at.get_untracked()).max(0),
            guideline_version_id: version_id(),
            idempotency_key: key,
            revise,
            ranking: ranking_asked.then(|| rank.groups.get_untracked()),
            step_flags: if ranking_asked {
                rank.flags.get_untracked()
            } else {
                Vec::new()
            },
            corrected_cot: if ranking_asked {
                rank.corrected(chosen.clone())
            } else {
                None
            },
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
            start_pair(&pair);
            revising.set(Some(pair));
            label.set(previous);
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
                // In the ranking, a rule found while a flagged candidate has focus is the
                // rule its wrong step broke; otherwise it is cited for the label.
                let flagged = (phase.get_untracked() == Phase::Rank)
                    .then(|| rank.focused.get_untracked())
                    .flatten()
                    .filter(|&c| rank.flag_of(c).is_some());
                match flagged {
                    Some(c) => {
                        let rule = rules.iter().find(|r| r.id == id);
                        rank.flag_rule(c, rule);
                    }
                    None => cite(id),
                }
                search.set(String::new());
            }
            None => message.set(Some(format!("No rule matches {needle:?}."))),
        }
    };

    let rule_list = Signal::derive(move || {
        guide
            .get()
            .and_then(Result::ok)
            .flatten()
            .map(|g| g.rules)
            .unwrap_or_default()
    });
    let pick_label = move |l: String| {
        label.set(Some(l));
        rank.confirmed.set(false);
        if pair_task.get_untracked() == TaskKind::JudgeAndRank
            && phase.get_untracked() == Phase::Label
        {
            phase.set(Phase::Rank);
            message.set(Some(
                "Now rank the candidates: a number focuses one, J/K move it, = ties it, \
                 W flags its first wrong step; L goes back to the label."
                    .into(),
            ));
        }
    };
    // The focused candidate's step count, to refuse a flag on a step it does not have.
    let steps_of = move |candidate: usize| {
        task.get_untracked()
            .and_then(|t| {
                t.pair()
                    .cot
                    .iter()
                    .find(|c| usize::try_from(c.position).ok() == Some(candidate))
                    .map(|c| c.steps.len())
            })
            .unwrap_or(0)
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
            let in_rank = phase.get_untracked() == Phase::Rank && pair_task.get_untracked().ranks();
            let focused = rank.focused.get_untracked();
            match key.as_str() {
                "Enter" => {
                    ev.prevent_default();
                    do_submit();
                }
                "s" | "S" => do_skip(),
                "?" => {
                    if let Some(el) = leptos::prelude::document().get_element_by_id("why") {
                        if el.has_attribute("open") {
                            let _ = el.remove_attribute("open");
                        } else {
                            let _ = el.set_attribute("open", "");
                        }
                    }
                }
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
                "l" | "L" if pair_task.get_untracked() == TaskKind::JudgeAndRank => {
                    phase.set(Phase::Label);
                    message.set(Some("Pick the label (numbers), then rank.".into()));
                }
                "j" | "J" | "ArrowDown" if in_rank => {
                    ev.prevent_default();
                    if let Some(c) = focused {
                        rank.edit(|g| rank_order::move_down(g, c));
                    }
                }
                "k" | "K" | "ArrowUp" if in_rank => {
                    ev.prevent_default();
                    if let Some(c) = focused {
                        rank.edit(|g| rank_order::move_up(g, c));
                    }
                }
                "=" if in_rank => {
                    if let Some(c) = focused {
                        rank.edit(|g| rank_order::tie_with_above(g, c));
                    }
                }
                "w" | "W" if in_rank => {
                    if focused.is_some() {
                        rank.awaiting_step.set(true);
                        message.set(Some("Press the number of the first wrong step.".into()));
                    } else {
                        message.set(Some("Focus a candidate first (its number).".into()));
                    }
                }
                "c" | "C" if in_rank => {
                    ev.prevent_default();
                    if let Some(t) = task.get_untracked() {
                        rank.open_correction(&t.pair().cot);
                        request_animation_frame(focus_correction);
                    }
                }
                digit => {
                    let Ok(n) = digit.parse::<usize>() else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    if !in_rank {
                        if let Some(l) = labels().get(n - 1) {
                            pick_label(l.clone());
                        }
                    } else if rank.awaiting_step.get_untracked() {
                        rank.awaiting_step.set(false);
                        match focused {
                            Some(c) if n <= steps_of(c) => {
                                rank.flag_step(c, n - 1);
                                message.set(None);
                            }
                            _ => message.set(Some(format!("There is no step {n}."))),
                        }
                    } else if rank
                        .groups
                        .with_untracked(|g| g.iter().flatten().any(|&c| c == n - 1))
                    {
                        rank.focused.set(Some(n - 1));
                    }
                }
            }
        });
        on_cleanup(move || handle.remove());
    });

    // Built apart and type-erased: one nested view type for the whole page overflows
    // the compiler's query depth.
    let task_column = view! {
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
                                            on:click=move |_| pick_label(value.clone())
                                        >
                                            <kbd>{i + 1}</kbd>
                                            {l}
                                        </button>
                                    }
                                }
                            />
                            </Transition>
                        </div>
                        {move || {
                            task.get()
                                .filter(|t| t.pair().task.ranks())
                                .map(|t| {
                                    let cot = t.pair().cot.clone();
                                    view! {
                                        <p class="phase" id="phase">
                                            {move || match phase.get() {
                                                Phase::Label => "Step 1: pick the label (numbers)",
                                                Phase::Rank => "Ranking: numbers focus candidates (L: back to the label)",
                                            }}
                                        </p>
                                        <RankPanel cot state=rank rules=rule_list />
                                    }
                                        .into_any()
                                })
                        }}
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
    }
    .into_any();
    let guide_column = view! {
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
                                                            <div class="rule-body" inner_html=crate::markdown::render(&r.body)></div>
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
    }
    .into_any();

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
                {task_column}
                {guide_column}
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
                <span class="band" data-band=pair.band.as_str()>
                    {pair.band.as_str()}
                </span>
                <span id="pair-query">{pair.query.clone()}</span>
            </p>
            {pair
                .why
                .clone()
                .map(|why| {
                    view! {
                        <details class="why" id="why">
                            <summary>"Why this pair? " <kbd>"?"</kbd></summary>
                            <p>{why}</p>
                        </details>
                    }
                })}
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
                                            "Candidate {} → {}{}",
                                            c.position + 1,
                                            c.label.clone().unwrap_or_else(|| "no label".into()),
                                            c.model.as_ref().map(|m| format!(" ({m})")).unwrap_or_default(),
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
