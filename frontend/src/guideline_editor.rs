//! The guideline editor at `/p/{slug}/guideline/edit`, for the project's guideline
//! editors and admins: the rule list (select, move up and down, add, remove), the
//! selected rule's fields with a live preview of its markdown body (the same sanitizer
//! the server uses), its worked examples (add, remove; written, or picked from the
//! project's pairs by searching them), then save the draft or publish it with a change
//! note. Rules move by dragging or with the up and down buttons. Annotators see a
//! published version from their next pair on.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::error::{AppFnError, set_refusal_status};
use crate::server_fns::guideline::draft::{
    guideline_draft, publish_draft, save_draft, search_pairs,
};
use crate::types::{DraftEditView, RuleExampleView, RuleView};

/// The editor page.
#[component]
pub fn GuidelineEditorPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let draft = Resource::new(slug, guideline_draft);
    view! {
        <section class="guideline-editor">
            <h1>"Edit the guideline of " <code>{slug}</code></h1>
            <Suspense fallback=|| view! { <p>"Loading the draft…"</p> }>
                {move || Suspend::new(async move {
                    match draft.await {
                        Ok(start) => view! { <Editor start slug=slug() /> }.into_any(),
                        Err(err) => {
                            set_refusal_status(&err);
                            let text = match &err {
                                AppFnError::Unauthorized => "Log in as a guideline editor of this project.".to_owned(),
                                AppFnError::Forbidden(_) => "Only this project's guideline editors and admins can edit its guideline.".to_owned(),
                                other => other.to_string(),
                            };
                            view! { <p class="error" role="alert" id="editor-denied">{text}</p> }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// A rule's id that is not taken yet: `R-NEW-1`, `R-NEW-2`, ...
fn fresh_id(rules: &[RuleView]) -> String {
    (1..)
        .map(|n| format!("R-NEW-{n}"))
        .find(|id| rules.iter().all(|r| &r.id != id))
        .unwrap_or_default()
}

#[component]
fn Editor(start: DraftEditView, slug: String) -> impl IntoView {
    let rules = RwSignal::new(start.rules);
    let selected = RwSignal::new(0usize);
    let status = RwSignal::new(format!("Editing {}.", start.source));
    let failed = RwSignal::new(None::<String>);
    let note = RwSignal::new(String::new());
    let scale = start.scale;

    // The selected rule, read and changed by field.
    let field = move |get: fn(&RuleView) -> String| {
        move || rules.with(|r| r.get(selected.get()).map(get).unwrap_or_default())
    };
    let set = move |apply: fn(&mut RuleView, String), value: String| {
        rules.update(|r| {
            if let Some(rule) = r.get_mut(selected.get_untracked()) {
                apply(rule, value);
            }
        });
    };
    // Dragging a rule onto another moves it there.
    let dragging = RwSignal::new(None::<usize>);
    let drop_on = move |to: usize| {
        if let Some(from) = dragging.get_untracked() {
            rules.update(|r| {
                if from < r.len() && to < r.len() && from != to {
                    let rule = r.remove(from);
                    r.insert(to, rule);
                    selected.set(to);
                }
            });
        }
        dragging.set(None);
    };
    let move_by = move |delta: isize| {
        rules.update(|r| {
            let at = selected.get_untracked();
            let to = at as isize + delta;
            if to >= 0 && (to as usize) < r.len() {
                r.swap(at, to as usize);
                selected.set(to as usize);
            }
        });
    };
    let add_rule = move |_| {
        rules.update(|r| {
            let id = fresh_id(r);
            r.push(RuleView {
                id,
                title: "New rule".into(),
                body: String::new(),
                capabilities: Vec::new(),
                dimension: None,
                examples: Vec::new(),
            });
            selected.set(r.len() - 1);
        });
    };
    let remove_rule = move |_| {
        rules.update(|r| {
            let at = selected.get_untracked();
            if at < r.len() {
                r.remove(at);
                selected.set(at.min(r.len().saturating_sub(1)));
            }
        });
    };

    // A new example for the selected rule.
    let ex_query = RwSignal::new(String::new());
    let ex_title = RwSignal::new(String::new());
    let ex_label = RwSignal::new(scale.first().cloned().unwrap_or_default());
    let ex_why = RwSignal::new(String::new());
    let add_example = move |_| {
        let example = RuleExampleView {
            query: ex_query.get_untracked(),
            item_title: ex_title.get_untracked(),
            label: ex_label.get_untracked(),
            why: ex_why.get_untracked(),
        };
        rules.update(|r| {
            if let Some(rule) = r.get_mut(selected.get_untracked()) {
                rule.examples.push(example);
            }
        });
        ex_query.set(String::new());
        ex_title.set(String::new());
        ex_why.set(String::new());
    };

    // The example picker: search the project's pairs, pick one to fill the example.
    let search_text = RwSignal::new(String::new());
    let search = {
        let slug = slug.clone();
        Action::new(move |text: &String| search_pairs(slug.clone(), text.clone()))
    };
    let hits = move || match search.value().get() {
        None => ().into_any(),
        Some(Err(e)) => {
            view! { <p class="error" id="pair-search-error">{e.to_string()}</p> }.into_any()
        }
        Some(Ok(found)) if found.is_empty() => {
            view! { <p id="pair-hits">"No pair matches."</p> }.into_any()
        }
        Some(Ok(found)) => view! {
            <ul id="pair-hits">
                {found
                    .into_iter()
                    .map(|hit| {
                        let (query, title) = (hit.query.clone(), hit.item_title.clone());
                        view! {
                            <li>
                                <button class="pick-pair" data-pair=hit.pair_id on:click=move |_| {
                                    ex_query.set(query.clone());
                                    ex_title.set(title.clone());
                                }>{format!("{} → {}", hit.query, hit.item_title)}</button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any(),
    };

    let save = {
        let slug = slug.clone();
        Action::new(move |publish: &bool| {
            let (slug, publish, list, text) = (
                slug.clone(),
                *publish,
                rules.get_untracked(),
                note.get_untracked(),
            );
            async move {
                save_draft(slug.clone(), list).await?;
                if publish {
                    publish_draft(slug, text).await.map(Some)
                } else {
                    Ok(None)
                }
            }
        })
    };
    Effect::new(move |_| {
        if let Some(result) = save.value().get() {
            match result {
                Ok(Some(number)) => {
                    failed.set(None);
                    status.set(format!("Published version {number}."));
                }
                Ok(None) => {
                    failed.set(None);
                    status.set("Draft saved.".into());
                }
                Err(e) => failed.set(Some(e.to_string())),
            }
        }
    });

    let preview = move || crate::markdown::render(&field(|r| r.body.clone())());
    let examples = move || {
        rules.with(|r| {
            r.get(selected.get())
                .map(|rule| rule.examples.clone())
                .unwrap_or_default()
        })
    };
    let label_options = scale
        .iter()
        .map(|l| view! { <option value=l.clone()>{l.clone()}</option> })
        .collect_view();

    view! {
        <p class="notice" role="status" id="editor-status">{move || status.get()}</p>
        {move || failed.get().map(|e| view! { <p class="error" role="alert" id="editor-error">{e}</p> })}
        <div class="editor">
            <nav class="rule-list">
                <ol id="editor-rules">
                    {move || {
                        rules
                            .get()
                            .into_iter()
                            .enumerate()
                            .map(|(i, r)| {
                                let current = move || selected.get() == i;
                                view! {
                                    <li
                                        class:selected=current
                                        data-rule=r.id.clone()
                                        draggable="true"
                                        on:dragstart=move |_| dragging.set(Some(i))
                                        on:dragover=move |ev| ev.prevent_default()
                                        on:drop=move |ev| {
                                            ev.prevent_default();
                                            drop_on(i);
                                        }
                                    >
                                        <button class="pick-rule" on:click=move |_| selected.set(i)>
                                            <code>{r.id.clone()}</code> " " {r.title.clone()}
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ol>
                <p>
                    <button id="rule-up" on:click=move |_| move_by(-1) aria-label="Move the rule up">"↑"</button>
                    <button id="rule-down" on:click=move |_| move_by(1) aria-label="Move the rule down">"↓"</button>
                    <button id="add-rule" on:click=add_rule>"Add a rule"</button>
                    <button id="remove-rule" on:click=remove_rule>"Remove the rule"</button>
                </p>
            </nav>
            <div class="rule-form">
                <label>"Id"
                    <input id="rule-id" prop:value=field(|r| r.id.clone())
                        on:input=move |ev| set(|r, v| r.id = v, event_target_value(&ev)) />
                </label>
                <label>"Title"
                    <input id="rule-title" prop:value=field(|r| r.title.clone())
                        on:input=move |ev| set(|r, v| r.title = v, event_target_value(&ev)) />
                </label>
                <label>"Capabilities (comma-separated)"
                    <input id="rule-capabilities" prop:value=field(|r| r.capabilities.join(", "))
                        on:change=move |ev| set(
                            |r, v| r.capabilities = v.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect(),
                            event_target_value(&ev),
                        ) />
                </label>
                <label>"Dimension"
                    <input id="rule-dimension" prop:value=field(|r| r.dimension.clone().unwrap_or_default())
                        on:input=move |ev| set(|r, v| r.dimension = Some(v), event_target_value(&ev)) />
                </label>
                <label>"Body (markdown)"
                    <textarea id="rule-body" rows="8" prop:value=field(|r| r.body.clone())
                        on:input=move |ev| set(|r, v| r.body = v, event_target_value(&ev))></textarea>
                </label>
                <h3>"Preview"</h3>
                <div class="rule-body preview" id="rule-preview" inner_html=preview></div>
                <h3>"Worked examples"</h3>
                <ul id="rule-examples">
                    {move || examples()
                        .into_iter()
                        .enumerate()
                        .map(|(i, e)| view! {
                            <li>
                                {format!("{} → {}: {} ({})", e.query, e.item_title, e.label, e.why)}
                                " "
                                <button class="remove-example" on:click=move |_| rules.update(|r| {
                                    if let Some(rule) = r.get_mut(selected.get_untracked()) && i < rule.examples.len() {
                                        rule.examples.remove(i);
                                    }
                                })>"Remove"</button>
                            </li>
                        })
                        .collect_view()}
                </ul>
                <fieldset class="new-example">
                    <legend>"Add an example"</legend>
                    <p class="picker">
                        <input id="example-search" placeholder="find a pair of this project" prop:value=move || search_text.get()
                            on:input=move |ev| search_text.set(event_target_value(&ev)) />
                        <button id="search-pairs" on:click=move |_| { search.dispatch(search_text.get_untracked()); }>"Find"</button>
                    </p>
                    {hits}
                    <input id="example-query" placeholder="query" prop:value=move || ex_query.get()
                        on:input=move |ev| ex_query.set(event_target_value(&ev)) />
                    <input id="example-item" placeholder="item title" prop:value=move || ex_title.get()
                        on:input=move |ev| ex_title.set(event_target_value(&ev)) />
                    <select id="example-label" on:change=move |ev| ex_label.set(event_target_value(&ev))>
                        {label_options}
                    </select>
                    <input id="example-why" placeholder="why, in one line" prop:value=move || ex_why.get()
                        on:input=move |ev| ex_why.set(event_target_value(&ev)) />
                    <button id="add-example" on:click=add_example>"Add the example"</button>
                </fieldset>
            </div>
        </div>
        <p class="editor-actions">
            <button id="save-draft" on:click=move |_| { save.dispatch(false); }>"Save the draft"</button>
            <label>"Change note"
                <input id="publish-note" prop:value=move || note.get()
                    on:input=move |ev| note.set(event_target_value(&ev)) />
            </label>
            <button id="publish" on:click=move |_| { save.dispatch(true); }>"Save and publish"</button>
        </p>
    }
}
