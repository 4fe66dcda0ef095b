//! The app shell, the router and the pages.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::error::AppFnError;
use crate::server_fns::projects::list::list_projects;
use crate::server_fns::session::login::Login;
use crate::server_fns::session::logout::Logout;
use crate::types::ProjectSummary;
use relabel_core::Role;

/// The HTML document around the app; the server renders it for every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The app: one router over every page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="main" href="/style/main.css" />
        <Title text="relabel" />
        <Router>
            <header class="topbar">
                <a href="/" class="brand">
                    "relabel"
                </a>
                <span class="tagline">"search relevance labels and CoT rankings"</span>
                <LogoutButton />
            </header>
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=ProjectsPage />
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/p/:slug/annotate") view=crate::workspace::AnnotatePage />
                    // Rendered after its data, so a refused visitor gets a 403 status.
                    <Route
                        path=path!("/p/:slug/members")
                        view=crate::members::MembersPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/p/:slug/export")
                        view=crate::export_page::ExportPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/p/:slug/quality")
                        view=crate::dashboard::DashboardPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/p/:slug/guideline")
                        view=crate::guideline_pages::GuidelineVersionsPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/p/:slug/guideline/edit")
                        view=crate::guideline_editor::GuidelineEditorPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/p/:slug/guideline/:number")
                        view=crate::guideline_pages::GuidelineVersionPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/p/:slug/review")
                        view=crate::review::ReviewQueuePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/p/:slug/review/:pair")
                        view=crate::review::ReviewPairPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/p/:slug/settings")
                        view=crate::settings::SettingsPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
        </Router>
    }
}

/// What an unknown path shows; the server answers it with status 404.
#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="not-found">
            <h1>"Page not found"</h1>
            <p class="empty">
                "There is nothing at this address. " <a href="/">"Back to the projects"</a>
            </p>
        </section>
    }
}

/// The project list, read from the database, with a filter that works once hydrated.
#[component]
fn ProjectsPage() -> impl IntoView {
    let projects = Resource::new(|| (), |_| list_projects());
    let (filter, set_filter) = signal(String::new());
    view! {
        <section class="projects">
            <div class="toolbar">
                <h1>"Projects"</h1>
                <input
                    type="search"
                    id="project-filter"
                    placeholder="Filter by slug or name"
                    aria-label="Filter projects"
                    prop:value=filter
                    on:input=move |ev| set_filter.set(event_target_value(&ev))
                />
            </div>
            <Suspense fallback=|| view! { <p>"Loading projects…"</p> }>
                {move || Suspend::new(async move {
                    match projects.await {
                        Ok(list) => view! { <ProjectTable list filter /> }.into_any(),
                        Err(AppFnError::Unauthorized) => {
                            view! {
                                <p class="empty" id="log-in-first">
                                    <a href="/login">"Log in"</a>
                                    " to see your projects."
                                </p>
                            }
                                .into_any()
                        }
                        Err(err) => {
                            view! {
                                <p class="error" role="alert">
                                    {err.to_string()}
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The login form: works as a plain form post, and without a page load once hydrated.
#[component]
fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let failure = move || {
        login
            .value()
            .get()
            .and_then(Result::err)
            .map(|err| err.to_string())
    };
    view! {
        <section class="login">
            <h1>"Log in"</h1>
            <ActionForm action=login>
                <label>
                    "User name" <input type="text" name="username" id="username" autocomplete="username" required />
                </label>
                <label>
                    "Password"
                    <input
                        type="password"
                        name="password"
                        id="password"
                        autocomplete="current-password"
                        required
                    />
                </label>
                <button type="submit" id="log-in">
                    "Log in"
                </button>
            </ActionForm>
            <Show when=move || failure().is_some()>
                <p class="error" role="alert" id="login-error">
                    {failure}
                </p>
            </Show>
        </section>
    }
}

/// Logs out; shown in the top bar.
#[component]
fn LogoutButton() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <ActionForm action=logout attr:class="logout">
            <button type="submit" id="log-out">
                "Log out"
            </button>
        </ActionForm>
    }
}

/// Whether a project matches the filter text (case-insensitive, on slug or name).
fn matches_filter(project: &ProjectSummary, needle_lower: &str) -> bool {
    needle_lower.is_empty()
        || project.slug.to_lowercase().contains(needle_lower)
        || project.name.to_lowercase().contains(needle_lower)
}

/// The table of projects; rows hide as the filter narrows.
#[component]
fn ProjectTable(list: Vec<ProjectSummary>, filter: ReadSignal<String>) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <p class="empty" id="no-projects">
                "No projects yet. Create one with " <code>"relabel project create SLUG"</code>
                " or load the demo with " <code>"relabel demo"</code> "."
            </p>
        }
        .into_any();
    }
    let total = list.len();
    let visible = Memo::new(move |_| {
        let needle = filter.get().trim().to_lowercase();
        list.iter()
            .filter(|p| matches_filter(p, &needle))
            .cloned()
            .collect::<Vec<_>>()
    });
    view! {
        <p class="count" id="project-count">
            {move || format!("Showing {} of {} projects", visible.with(Vec::len), total)}
        </p>
        <table class="project-table">
            <thead>
                <tr>
                    <th>"Slug"</th>
                    <th>"Name"</th>
                    <th>"Scale"</th>
                    <th class="num">"Overlap k"</th>
                    <th class="num">"Pairs"</th>
                    <th class="num">"Judgments"</th>
                    <th>"Open"</th>
                </tr>
            </thead>
            <tbody>
                <For
                    each=move || visible.get()
                    key=|p| p.slug.clone()
                    children=move |p| {
                        let slug = p.slug.clone();
                        let href = format!("/p/{}/annotate", p.slug);
                        let holds = |role: Role| p.my_roles.contains(&role);
                        let annotate = holds(Role::Annotator).then(|| {
                            view! { <a class="open-annotate" href=href.clone()>"Annotate"</a> }
                        });
                        let guideline = format!("/p/{}/guideline", p.slug);
                        let edit = (holds(Role::Admin) || holds(Role::GuidelineEditor)).then(|| {
                            let edit = format!("/p/{}/guideline/edit", p.slug);
                            view! { " " <a class="open-editor" href=edit>"Edit guideline"</a> }
                        });
                        let guideline = view! { <a class="open-guideline" href=guideline>"Guideline"</a> {edit} };
                        let quality = (holds(Role::Admin) || holds(Role::Reviewer)).then(|| {
                            let quality = format!("/p/{}/quality", p.slug);
                            let review = format!("/p/{}/review", p.slug);
                            view! {
                                " "
                                <a class="open-quality" href=quality>"Quality"</a>
                                " "
                                <a class="open-review" href=review>"Review"</a>
                            }
                        });
                        let members = holds(Role::Admin).then(|| {
                            let members = format!("/p/{}/members", p.slug);
                            let settings = format!("/p/{}/settings", p.slug);
                            view! {
                                <a class="open-members" href=members>"Members"</a>
                                " "
                                <a class="open-settings" href=settings>"Settings"</a>
                                " "
                                <a class="open-export" href=format!("/p/{}/export", p.slug)>"Export"</a>
                            }
                        });
                        view! {
                            <tr class="project-row" data-slug=slug>
                                <td>
                                    <a href=href>
                                        <code>{p.slug}</code>
                                    </a>
                                </td>
                                <td>{p.name}</td>
                                <td>{p.scale.name()}</td>
                                <td class="num">{p.overlap_k}</td>
                                <td class="num">{p.pairs}</td>
                                <td class="num">{p.judgments}</td>
                                <td class="open">{annotate} " " {members} {quality} " " {guideline}</td>
                            </tr>
                        }
                    }
                />
            </tbody>
        </table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(slug: &str, name: &str) -> ProjectSummary {
        ProjectSummary {
            slug: slug.into(),
            name: name.into(),
            scale: relabel_core::ScalePreset::Lore4,
            overlap_k: 3,
            pairs: 0,
            judgments: 0,
            my_roles: Vec::new(),
        }
    }

    #[test]
    fn filter_matches_slug_or_name_case_insensitively() {
        let p = project("shoes-eu", "Running Shoes");
        assert!(matches_filter(&p, ""));
        assert!(matches_filter(&p, "shoes-e"));
        assert!(matches_filter(&p, "running"));
        assert!(!matches_filter(&p, "headphones"));
    }
}
