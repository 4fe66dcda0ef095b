//! A project's members page at `/p/{slug}/members`, for the project's admins: who holds
//! which role, a form to add a user (or give an existing one another role), and a
//! button per role to take it away. Every form works as a plain form post before the
//! page is hydrated.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::error::AppFnError;
use crate::server_fns::members::add::AddMember;
use crate::server_fns::members::list::list_members;
use crate::server_fns::members::revoke::RevokeRole;
use crate::types::{AddedMember, MemberView, PROJECT_ROLES};
use relabel_core::Role;

/// The label a role is shown with.
fn role_label(role: Role) -> &'static str {
    PROJECT_ROLES
        .iter()
        .find(|(r, _)| *r == role)
        .map_or(role.as_str(), |(_, label)| label)
}

/// What the page says after a member was added.
fn added_message(added: &AddedMember) -> String {
    match (added.created, added.granted) {
        (true, _) => format!("Created {}.", added.name),
        (false, true) => format!("{} has the new role.", added.name),
        (false, false) => format!("{} already held that role.", added.name),
    }
}

/// The members page.
#[component]
pub fn MembersPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let add = ServerAction::<AddMember>::new();
    let revoke = ServerAction::<RevokeRole>::new();
    let members = Resource::new(
        move || (slug(), add.version().get(), revoke.version().get()),
        |(slug, _, _)| list_members(slug),
    );
    let add_result = move || add.value().get();
    let revoke_error = move || {
        revoke
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };

    view! {
        <section class="members">
            <h1>"Members of " <code>{slug}</code></h1>
            <Suspense fallback=|| view! { <p>"Loading members…"</p> }>
                {move || Suspend::new(async move {
                    match members.await {
                        Ok(list) => view! { <MemberTable list slug=slug() revoke /> }.into_any(),
                        Err(err) => {
                            crate::error::set_refusal_status(&err);
                            let text = match &err {
                                AppFnError::Unauthorized => "Log in as an admin of this project to manage its members.".to_owned(),
                                AppFnError::Forbidden(_) => "Only this project's admins can manage its members.".to_owned(),
                                other => other.to_string(),
                            };
                            view! {
                                <p class="error" role="alert" id="members-denied">
                                    {text}
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
            <Show when=move || revoke_error().is_some()>
                <p class="error" role="alert" id="revoke-error">
                    {revoke_error}
                </p>
            </Show>
            <h2>"Add a member"</h2>
            <ActionForm action=add attr:class="add-member">
                <input type="hidden" name="slug" prop:value=slug />
                <label>
                    "User name"
                    <input
                        type="text"
                        name="username"
                        id="member-name"
                        required
                        maxlength="64"
                        pattern="[A-Za-z0-9._\\-]+"
                        autocomplete="off"
                    />
                </label>
                <label>
                    "Role"
                    <select name="role" id="member-role">
                        {PROJECT_ROLES
                            .iter()
                            .map(|(role, label)| view! { <option value=role.as_str()>{*label}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "Password for a new user"
                    <input
                        type="password"
                        name="password"
                        id="member-password"
                        autocomplete="new-password"
                        placeholder="empty: generate one"
                    />
                </label>
                <button type="submit" id="add-member">
                    "Add"
                </button>
            </ActionForm>
            {move || {
                add_result()
                    .map(|result| match result {
                        Ok(added) => {
                            view! {
                                <p class="notice" role="status" id="member-added">
                                    {added_message(&added)}
                                    {added
                                        .password
                                        .map(|p| {
                                            view! {
                                                " Password (shown once): "
                                                <code id="member-password-shown">{p}</code>
                                            }
                                        })}
                                </p>
                            }
                                .into_any()
                        }
                        Err(e) => {
                            view! {
                                <p class="error" role="alert" id="add-error">
                                    {e.to_string()}
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
        </section>
    }
}

/// The members with their roles, each role with its own revoke form.
#[component]
fn MemberTable(
    list: Vec<MemberView>,
    slug: String,
    revoke: ServerAction<RevokeRole>,
) -> impl IntoView {
    view! {
        <table class="member-table">
            <thead>
                <tr>
                    <th>"User"</th>
                    <th>"Roles in this project"</th>
                </tr>
            </thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|m| {
                        let slug = slug.clone();
                        let user_id = m.user_id.to_string();
                        view! {
                            <tr class="member" data-user=m.name.clone()>
                                <td>
                                    {m.name.clone()}
                                    {m.disabled.then_some(" (disabled)")}
                                </td>
                                <td class="roles">
                                    {m.site_admin.then(|| view! { <span class="chip">"Admin of every project"</span> })}
                                    {m
                                        .roles
                                        .into_iter()
                                        .map(|role| {
                                            let label = role_label(role).to_owned();
                                            let (slug, user_id) = (slug.clone(), user_id.clone());
                                            view! {
                                                <ActionForm action=revoke attr:class="revoke">
                                                    <input type="hidden" name="slug" value=slug />
                                                    <input type="hidden" name="user_id" value=user_id />
                                                    <input type="hidden" name="role" value=role.as_str() />
                                                    <span class="chip" data-role=role.as_str()>
                                                        {label.clone()}
                                                        <button
                                                            type="submit"
                                                            class="revoke-role"
                                                            title=format!("Take the {label} role")
                                                        >
                                                            "×"
                                                        </button>
                                                    </span>
                                                </ActionForm>
                                            }
                                        })
                                        .collect_view()}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_show_with_their_labels() {
        assert_eq!(role_label(Role::GuidelineEditor), "Guideline editor");
        assert_eq!(role_label(Role::Annotator), "Annotator");
    }

    #[test]
    fn the_added_message_says_what_happened() {
        let added = |created, granted| AddedMember {
            name: "ann".into(),
            created,
            granted,
            password: None,
        };
        assert_eq!(added_message(&added(true, true)), "Created ann.");
        assert_eq!(added_message(&added(false, true)), "ann has the new role.");
        assert_eq!(
            added_message(&added(false, false)),
            "ann already held that role."
        );
    }
}
