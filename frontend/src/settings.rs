//! A project's settings page at `/p/{slug}/settings`, for the project's admins: the
//! task annotators are asked, overlap k, the gold rate, the lease length, and whether
//! annotators see which model wrote each CoT candidate; and the active-learning scorer:
//! its strategy, how often `serve` retrains it, and its newest training runs. The form is
//! a plain form post that also works before the page is hydrated.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::error::{AppFnError, set_refusal_status};
use crate::server_fns::settings::get::project_settings;
use crate::server_fns::settings::update::UpdateSettings;
use crate::types::SettingsView;
use relabel_core::{StrategyKind, TaskKind};

/// The task kinds, as stored and shown.
const TASKS: [(TaskKind, &str); 3] = [
    (TaskKind::Judge, "Judge the label"),
    (TaskKind::Rank, "Rank the CoT candidates"),
    (TaskKind::JudgeAndRank, "Both: label first, then rank"),
];

/// The settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let save = ServerAction::<UpdateSettings>::new();
    let settings = Resource::new(
        move || (slug(), save.version().get()),
        |(s, _)| project_settings(s),
    );
    let outcome = move || {
        save.value().get().map(|r| match r {
            Ok(_) => view! {
                <p class="notice" role="status" id="settings-saved">"Saved."</p>
            }
            .into_any(),
            Err(e) => view! {
                <p class="error" role="alert" id="settings-error">{e.to_string()}</p>
            }
            .into_any(),
        })
    };
    view! {
        <section class="settings">
            <h1>"Settings of " <code>{slug}</code></h1>
            <Suspense fallback=|| view! { <p>"Loading settings…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(current) => view! { <SettingsForm current slug=slug() save /> }.into_any(),
                        Err(err) => {
                            set_refusal_status(&err);
                            let text = match &err {
                                AppFnError::Unauthorized => "Log in as an admin of this project to change its settings.".to_owned(),
                                AppFnError::Forbidden(_) => "Only this project's admins can change its settings.".to_owned(),
                                other => other.to_string(),
                            };
                            view! { <p class="error" role="alert" id="settings-denied">{text}</p> }.into_any()
                        }
                    }
                })}
            </Suspense>
            {outcome}
        </section>
    }
}

/// A select's options, `(stored value, shown text)`, with `current` selected.
fn options(
    list: impl IntoIterator<Item = (&'static str, &'static str)>,
    current: &str,
) -> impl IntoView {
    list.into_iter()
        .map(|(value, text)| {
            let selected = current == value;
            view! { <option value=value selected=selected>{text}</option> }
        })
        .collect_view()
}

/// The form, filled with the current settings.
#[component]
fn SettingsForm(
    current: SettingsView,
    slug: String,
    save: ServerAction<UpdateSettings>,
) -> impl IntoView {
    let strategies: Vec<_> = current
        .strategy_choices
        .iter()
        .map(|k| (k.name(), k.describe()))
        .collect();
    let strategy = current
        .scorer_strategy
        .unwrap_or(StrategyKind::Hybrid)
        .name();
    view! {
        <ActionForm action=save attr:class="settings-form">
            <input type="hidden" name="slug" value=slug />
            <label>
                "Task for pairs that do not set their own"
                <select name="task" id="settings-task">
                    {options(TASKS.iter().map(|(t, text)| (t.as_str(), *text)), current.task.as_str())}
                </select>
            </label>
            <label>
                "Overlap k (judgments per pair)"
                <input type="number" name="overlap_k" id="settings-overlap" min="1" max="100" required value=current.overlap_k />
            </label>
            <label>
                "Gold pairs mixed in (%)"
                <input type="number" name="gold_percent" id="settings-gold" min="0" max="100" step="0.1" required value=current.gold_percent />
            </label>
            <label>
                "Lease (minutes an annotator holds a pair)"
                <input type="number" name="lease_minutes" id="settings-lease" min="1" max="1440" required value=current.lease_minutes />
            </label>
            <label class="checkbox">
                <input type="checkbox" name="reveal_models" id="settings-reveal" value="on" checked=current.reveal_models />
                " Show annotators which model wrote each CoT candidate (off: blind ranking, no brand bias)"
            </label>
            <fieldset class="scorer">
                <legend>"Relevance scorer (active learning)"</legend>
                <label>
                    "Which pairs annotators see first"
                    <select name="scorer_strategy" id="settings-strategy">
                        {options(strategies, strategy)}
                    </select>
                </label>
                <label>
                    "Retrain in the background after this many newly completed pairs (0: never)"
                    <input type="number" name="retrain_every" id="settings-retrain" min="0" max="1000000" required value=current.retrain_every.unwrap_or(0) />
                </label>
            </fieldset>
            <fieldset class="quality">
                <legend>"Label quality"</legend>
                <label>
                    "Judge gold accuracy over each annotator's last N gold answers"
                    <input type="number" name="gold_window" id="settings-gold-window" min="1" max="1000" required value=current.gold_window.unwrap_or(20) />
                </label>
                <label>
                    "Flag an annotator below this gold accuracy (%)"
                    <input type="number" name="gold_min_percent" id="settings-gold-min" min="0" max="100" step="0.1" required value=current.gold_min_percent.unwrap_or(70.0) />
                </label>
                <label class="checkbox">
                    <input type="checkbox" name="pause_flagged" id="settings-pause-flagged" value="on" checked=current.pause_flagged.unwrap_or(false) />
                    " Pause flagged annotators (they get no more pairs)"
                </label>
                <label>
                    "Send a pair to review when its own Krippendorff alpha is below"
                    <input type="number" name="review_alpha" id="settings-review-alpha" min="-1" max="1" step="0.05" required value=current.review_alpha.unwrap_or(0.5) />
                </label>
            </fieldset>
            <button type="submit" id="save-settings">"Save"</button>
        </ActionForm>
        <ScorerRuns runs=current.scorer_runs off=current.scorer_off />
    }
}

/// The scorer's newest training runs, or why there are none.
#[component]
fn ScorerRuns(runs: Vec<crate::types::ScorerRunView>, off: Option<String>) -> impl IntoView {
    let show = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"));
    view! {
        <section class="scorer-runs" id="scorer-runs">
            <h2>"Scorer training runs"</h2>
            {off.map(|why| view! { <p class="notice" id="scorer-off">{why}</p> })}
            {if runs.is_empty() {
                view! {
                    <p id="no-scorer-runs">
                        "No training runs yet: run " <code>"relabel scorer train"</code>
                        ", or set a retrain interval above."
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <table>
                        <thead>
                            <tr>
                                <th>"Run"</th>
                                <th>"Finished"</th>
                                <th>"Labels"</th>
                                <th>"Held-out macro-F1"</th>
                                <th>"Held-out accuracy"</th>
                                <th>"Model"</th>
                                <th>"Seconds"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {runs
                                .into_iter()
                                .map(|run| {
                                    view! {
                                        <tr>
                                            <td>{run.id}</td>
                                            <td>{run.finished}</td>
                                            <td>{run.labels_used}</td>
                                            <td>{show(run.heldout_macro_f1)}</td>
                                            <td>{show(run.heldout_accuracy)}</td>
                                            <td><code>{run.model}</code></td>
                                            <td>{format!("{:.1}", run.seconds)}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </section>
    }
}
