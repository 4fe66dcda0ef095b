//! The ranking screen: the pair's CoT candidates in the annotator's order, best first,
//! each with its numbered steps and the label it reached (never the model's name). The
//! annotator reorders them with the keyboard or by dragging a handle, ties candidates,
//! flags each one's first wrong step with the rule it broke, and may write a corrected
//! CoT. Text is always rendered as text.

use leptos::prelude::*;

use crate::cot_text;
use crate::rank_order::{self, Groups};
use crate::types::{CorrectedCot, CotView, RuleView, StepFlag};

/// Which part of a `judge+rank` screen the number keys drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Number keys pick the label.
    Label,
    /// Number keys focus a candidate.
    Rank,
}

/// The ranking being edited for the pair in hand.
#[derive(Debug, Clone, Copy)]
pub struct RankState {
    /// Best first, with ties.
    pub groups: RwSignal<Groups>,
    /// The candidate the keys act on.
    pub focused: RwSignal<Option<usize>>,
    /// First wrong steps, one per flagged candidate.
    pub flags: RwSignal<Vec<StepFlag>>,
    /// `W` was pressed: the next number names the focused candidate's wrong step.
    pub awaiting_step: RwSignal<bool>,
    /// The corrected CoT's steps while the editor is open.
    pub correction: RwSignal<Option<Vec<String>>>,
    /// The candidate being dragged.
    pub dragging: RwSignal<Option<usize>>,
    /// The annotator confirmed an order that puts a wrong label above the right one.
    pub confirmed: RwSignal<bool>,
}

impl RankState {
    /// Empty state.
    pub fn new() -> Self {
        Self {
            groups: RwSignal::new(Vec::new()),
            focused: RwSignal::new(None),
            flags: RwSignal::new(Vec::new()),
            awaiting_step: RwSignal::new(false),
            correction: RwSignal::new(None),
            dragging: RwSignal::new(None),
            confirmed: RwSignal::new(false),
        }
    }

    /// Starts over for a pair with `candidates` candidates, in the served order.
    pub fn reset(&self, candidates: usize) {
        self.groups.set(rank_order::initial(candidates));
        self.focused.set(None);
        self.flags.set(Vec::new());
        self.awaiting_step.set(false);
        self.correction.set(None);
        self.dragging.set(None);
        self.confirmed.set(false);
    }

    /// Applies an edit to the order; any change needs a fresh confirmation.
    pub fn edit(&self, change: impl FnOnce(&mut Groups)) {
        self.groups.update(change);
        self.confirmed.set(false);
    }

    /// Marks `step` as the candidate's first wrong step; the same step again clears it.
    pub fn flag_step(&self, candidate: usize, step: usize) {
        self.flags.update(
            |flags| match flags.iter().position(|f| f.candidate == candidate) {
                Some(i) if flags[i].step == Some(step) => {
                    flags.remove(i);
                }
                Some(i) => flags[i].step = Some(step),
                None => flags.push(StepFlag {
                    candidate,
                    step: Some(step),
                    rule: None,
                    dimension: None,
                }),
            },
        );
    }

    /// Sets the rule (and its dimension) of the candidate's flag; false when the
    /// candidate has no flag.
    pub fn flag_rule(&self, candidate: usize, rule: Option<&RuleView>) -> bool {
        let mut found = false;
        self.flags.update(|flags| {
            if let Some(f) = flags.iter_mut().find(|f| f.candidate == candidate) {
                f.rule = rule.map(|r| r.id.clone());
                f.dimension = rule.and_then(|r| r.dimension.clone());
                found = true;
            }
        });
        found
    }

    /// The candidate's flag, if any.
    pub fn flag_of(&self, candidate: usize) -> Option<StepFlag> {
        self.flags
            .with(|flags| flags.iter().find(|f| f.candidate == candidate).cloned())
    }

    /// Opens the corrected-CoT editor with the best-ranked candidate's steps.
    pub fn open_correction(&self, cot: &[CotView]) {
        if self.correction.with_untracked(Option::is_some) {
            return;
        }
        let best = self
            .groups
            .with_untracked(|g| g.first().and_then(|group| group.first().copied()));
        let steps = best
            .and_then(|b| {
                cot.iter()
                    .find(|c| usize::try_from(c.position).ok() == Some(b))
            })
            .map(|c| c.steps.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| vec![String::new()]);
        self.correction.set(Some(steps));
    }

    /// The corrected CoT to submit: the edited steps, trimmed, reaching `label`.
    pub fn corrected(&self, label: Option<String>) -> Option<CorrectedCot> {
        self.correction.get_untracked().map(|steps| CorrectedCot {
            steps: steps.iter().map(|s| s.trim().to_owned()).collect(),
            label,
        })
    }
}

impl Default for RankState {
    fn default() -> Self {
        Self::new()
    }
}

/// Focuses the last step of the corrected-CoT editor, with the caret at its end.
pub fn focus_correction() {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let last = document()
            .query_selector(".correction-label:last-of-type .correction-step")
            .ok()
            .flatten()
            .and_then(|n| n.dyn_into::<leptos::web_sys::HtmlTextAreaElement>().ok());
        if let Some(area) = last {
            let _ = area.focus();
            let end = u32::try_from(area.value().encode_utf16().count()).unwrap_or(u32::MAX);
            let _ = area.set_selection_range(end, end);
        }
    }
}

/// The candidates in the annotator's order, and the corrected-CoT editor.
#[component]
pub fn RankPanel(
    cot: Vec<CotView>,
    state: RankState,
    #[prop(into)] rules: Signal<Vec<RuleView>>,
) -> impl IntoView {
    let count = cot.len();
    let same_text = same_text_as(&cot);
    let cot = StoredValue::new(cot);
    // Re-render the editor only when it opens or closes, never while typing in it.
    let editing = Memo::new(move |_| state.correction.with(Option::is_some));
    let end_drag = move || state.dragging.set(None);
    view! {
        <section class="ranking" id="ranking" on:pointerleave=move |_| end_drag()>
            <h3>"Rank the model's reasoning, best first"</h3>
            <p class="hint">
                {format!(
                    "Keys: 1-{count} focus a candidate · J/K or ↓/↑ move it · = ties it with the one above · W then a step number flags its first wrong step · C writes a corrected reasoning · or drag ⠿"
                )}
            </p>
            <ol class="rank-list">
                {move || {
                    state
                        .groups
                        .get()
                        .into_iter()
                        .enumerate()
                        .flat_map(|(place, group)| {
                            let tied = group.len() > 1;
                            group.into_iter().map(move |c| (place, c, tied))
                        })
                        .map(|(place, c, tied)| {
                            let candidate = cot
                                .with_value(|all| {
                                    all.iter()
                                        .find(|x| usize::try_from(x.position).ok() == Some(c))
                                        .cloned()
                                });
                            let same_as = same_text.get(c).copied().flatten();
                            let (steps, reached, model) = candidate
                                .map(|x| (shown_steps(&x), x.label.unwrap_or_else(|| "no label".into()), x.model))
                                .unwrap_or_default();
                            view! {
                                <CandidateCard place c tied steps reached model same_as state rules />
                            }
                        })
                        .collect_view()
                }}
            </ol>
            <Show when=move || editing.get()>
                <div class="correction" id="correction">
                    <h4>"Corrected reasoning (starts from the best-ranked candidate)"</h4>
                    {move || {
                        state
                            .correction
                            .get_untracked()
                            .unwrap_or_default()
                            .into_iter()
                            .enumerate()
                            .map(|(i, text)| {
                                view! {
                                    <label class="correction-label">
                                        {format!("Step {}", i + 1)}
                                        <textarea
                                            class="correction-step"
                                            data-step=i
                                            rows="2"
                                            maxlength="4000"
                                            prop:value=text
                                            on:input=move |ev| {
                                                let value = event_target_value(&ev);
                                                state
                                                    .correction
                                                    .update(|c| {
                                                        if let Some(step) = c.as_mut().and_then(|s| s.get_mut(i)) {
                                                            *step = value;
                                                        }
                                                    });
                                            }
                                        ></textarea>
                                    </label>
                                }
                            })
                            .collect_view()
                    }}
                    <button id="discard-correction" on:click=move |_| state.correction.set(None)>
                        "Discard the correction"
                    </button>
                </div>
            </Show>
        </section>
    }
}

/// A candidate's steps as shown: its steps, or its whole text as one step.
fn shown_steps(candidate: &CotView) -> Vec<String> {
    cot_text::steps_of(&candidate.steps, &candidate.text)
}

/// For each candidate by position, the first earlier candidate with the same text as
/// the exports compare them ([`cot_text`]): no export makes a preference between two
/// such candidates, so the card says so.
pub fn same_text_as(cot: &[CotView]) -> Vec<Option<usize>> {
    let mut by_position: Vec<&CotView> = cot.iter().collect();
    by_position.sort_by_key(|c| c.position);
    let answers: Vec<String> = by_position
        .iter()
        .map(|c| cot_text::candidate_answer(&c.steps, &c.text, c.label.as_deref()))
        .collect();
    let mut same = vec![None; by_position.len()];
    for (j, first) in cot_text::first_same(&answers).into_iter().enumerate() {
        if let (Some(i), Ok(slot)) = (first, usize::try_from(by_position[j].position))
            && let (Some(cell), Ok(first)) =
                (same.get_mut(slot), usize::try_from(by_position[i].position))
        {
            *cell = Some(first);
        }
    }
    same
}

/// One candidate: its place, steps (click one to flag it), label, and its flag's rule.
#[component]
fn CandidateCard(
    place: usize,
    c: usize,
    tied: bool,
    steps: Vec<String>,
    reached: String,
    model: Option<String>,
    same_as: Option<usize>,
    state: RankState,
    rules: Signal<Vec<RuleView>>,
) -> impl IntoView {
    let focused = move || state.focused.get() == Some(c);
    let wrong_step = move || state.flag_of(c).and_then(|f| f.step);
    let drop_here = move |_| {
        if let Some(source) = state.dragging.get_untracked() {
            state.edit(|g| rank_order::move_onto(g, source, c));
            state.dragging.set(None);
        }
    };
    view! {
        <li
            class="candidate-card"
            data-candidate=c
            data-place=place + 1
            class:focused=focused
            class:tied=tied
            class:dragging=move || state.dragging.get() == Some(c)
            on:click=move |_| state.focused.set(Some(c))
            on:pointerup=drop_here
        >
            <div class="candidate-head">
                <span
                    class="drag-handle"
                    title="Drag to move"
                    on:pointerdown=move |ev| {
                        ev.prevent_default();
                        state.dragging.set(Some(c));
                        state.focused.set(Some(c));
                    }
                >
                    "⠿"
                </span>
                <span class="place">{format!("#{}", place + 1)} {tied.then_some(" (tie)")}</span>
                <strong>{format!("Candidate {}", c + 1)}</strong>
                <span class="reached">{format!("→ {reached}")}</span>
                {model.map(|m| view! { <span class="model">{format!("({m})")}</span> })}
                {same_as
                    .map(|i| {
                        view! {
                            <span
                                class="same-text"
                                title="No export makes a preference between candidates with the same text"
                            >
                                {format!("same text as candidate {}", i + 1)}
                            </span>
                        }
                    })}
            </div>
            <ol class="steps">
                {steps
                    .into_iter()
                    .enumerate()
                    .map(|(i, text)| {
                        view! {
                            <li
                                class="step"
                                data-step=i + 1
                                class:wrong=move || wrong_step() == Some(i)
                                on:click=move |ev| {
                                    ev.stop_propagation();
                                    state.focused.set(Some(c));
                                    state.flag_step(c, i);
                                }
                            >
                                {text}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            {move || {
                state
                    .flag_of(c)
                    .map(|flag| {
                        let chosen = flag.rule.clone().unwrap_or_default();
                        view! {
                            <p class="flag">
                                {format!(
                                    "First wrong step: {}",
                                    flag.step.map_or_else(|| "none".to_owned(), |s| (s + 1).to_string()),
                                )}
                                <select
                                    class="flag-rule"
                                    aria-label="Rule the step got wrong"
                                    on:change=move |ev| {
                                        let id = event_target_value(&ev);
                                        let rule = rules.with_untracked(|all| all.iter().find(|r| r.id == id).cloned());
                                        state.flag_rule(c, rule.as_ref());
                                    }
                                >
                                    <option value="">"Rule it broke…"</option>
                                    {rules
                                        .get()
                                        .into_iter()
                                        .map(|r| {
                                            let selected = r.id == chosen;
                                            view! {
                                                <option value=r.id.clone() selected=selected>
                                                    {r.id.clone()}
                                                </option>
                                            }
                                        })
                                        .collect_view()}
                                </select>
                            </p>
                        }
                    })
            }}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cot(position: i64, steps: &[&str], text: &str) -> CotView {
        CotView {
            position,
            model: None,
            steps: steps.iter().map(|s| (*s).to_owned()).collect(),
            text: text.to_owned(),
            label: Some("L4".into()),
        }
    }

    #[test]
    fn candidates_with_the_same_text_point_at_the_first_of_them() {
        let all = [
            cot(0, &["a", "b"], ""),
            cot(1, &["c"], ""),
            cot(2, &["a ", " b"], ""),
            cot(3, &[], "c"),
        ];
        assert_eq!(same_text_as(&all), [None, None, Some(0), Some(1)]);
        // The label is part of the text an export compares, as in the exports.
        let other_label = CotView {
            label: Some("L2".into()),
            ..cot(1, &["a", "b"], "")
        };
        assert_eq!(
            same_text_as(&[cot(0, &["a", "b"], ""), other_label]),
            [None, None]
        );
    }

    #[test]
    fn a_candidate_with_text_alone_shows_it_as_one_step() {
        assert_eq!(shown_steps(&cot(0, &[], " all of it ")), ["all of it"]);
        assert_eq!(shown_steps(&cot(0, &["one"], "ignored")), ["one"]);
    }
}
