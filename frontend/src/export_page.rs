//! A project's export page at `/p/{slug}/export`, for the project's admins: pick a
//! format and options, and the browser downloads the file, streamed by
//! `GET /api/v1/projects/{slug}/export` (a plain GET form: nothing changes).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::error::{AppFnError, set_refusal_status};
use crate::server_fns::settings::get::project_settings;

/// The formats, as the API names them, with what they are for.
const FORMATS: [(&str, &str); 5] = [
    (
        "preference-pairs",
        "Preference pairs (chosen / rejected) for RL from human rankings",
    ),
    (
        "sft",
        "SFT conversations: corrected or best CoT with the final label",
    ),
    (
        "stepwise",
        "Stepwise labels up to each candidate's first wrong step",
    ),
    ("labels", "Final labels as a CSV table"),
    (
        "benchmark",
        "Benchmark set with capability tags and subsets",
    ),
];

/// The export page.
#[component]
pub fn ExportPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    // Only a project admin may export; the settings read is the same check.
    let access = Resource::new(slug, project_settings);
    view! {
        <section class="export">
            <h1>"Export " <code>{slug}</code></h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match access.await {
                        Ok(_) => view! { <ExportForm slug=slug() /> }.into_any(),
                        Err(err) => {
                            set_refusal_status(&err);
                            let text = match &err {
                                AppFnError::Unauthorized => "Log in as an admin of this project to export it.".to_owned(),
                                AppFnError::Forbidden(_) => "Only this project's admins can export it.".to_owned(),
                                other => other.to_string(),
                            };
                            view! { <p class="error" role="alert" id="export-denied">{text}</p> }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The download form.
#[component]
fn ExportForm(slug: String) -> impl IntoView {
    let action = format!("/api/v1/projects/{slug}/export");
    view! {
        <form method="get" action=action class="export-form" id="export-form">
            <label>
                "Format"
                <select name="format" id="export-format">
                    {FORMATS
                        .iter()
                        .map(|(value, text)| view! { <option value=*value>{*text}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Style"
                <select name="style">
                    <option value="">"The format's default"</option>
                    <option value="standard">"Standard (strings)"</option>
                    <option value="conversational">"Conversational (messages)"</option>
                </select>
            </label>
            <label>
                "Preference pairs"
                <select name="pairs">
                    <option value="all">"Every pair of places"</option>
                    <option value="adjacent">"Adjacent places only"</option>
                    <option value="best-vs-rest">"Best against the rest"</option>
                </select>
            </label>
            <label>
                "Test split (share of queries, empty for none)"
                <input type="number" name="split" min="0" max="1" step="0.01" placeholder="0.1" />
            </label>
            <label>
                "Seed" <input type="number" name="seed" min="0" value="0" />
            </label>
            <label>
                "Band"
                <select name="band">
                    <option value="">"All"</option>
                    <option value="head">"Head"</option>
                    <option value="torso">"Torso"</option>
                    <option value="tail">"Tail"</option>
                </select>
            </label>
            <label>
                "Capability tag" <input type="text" name="capability" placeholder="multimodal" />
            </label>
            <label>
                "Minimum agreement (0-1)"
                <input type="number" name="min_agreement" min="0" max="1" step="0.05" />
            </label>
            <button type="submit" id="download-export">"Download"</button>
        </form>
        <p class="hint">
            "The same as " <code>"relabel export"</code>
            "; docs/formats.md describes each format and which label is final."
        </p>
    }
}
