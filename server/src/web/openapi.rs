//! The JSON API's routes under `/api`, each registered with its OpenAPI description
//! (utoipa-axum's router): the document served at `/api/v1/openapi.json` is made from the
//! same registration the server routes by, so a route cannot be missing from it.

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::{AppState, admin, annotate, api, auth, export, guideline, import, review};

/// The document's title and description; its paths come from [`router`].
#[derive(OpenApi)]
#[openapi(info(
    title = "relabel",
    description = "Label e-commerce search relevance; the annotator's and scripts' API. \
                   Errors are `{\"error\": {\"code\", \"message\"}}`."
))]
struct ApiDoc;

/// The router of `/api`: every JSON route, `/api/v1/openapi.json` describing them, and a
/// JSON 404 for anything else under `/api`.
pub fn router() -> axum::Router<AppState> {
    let (routes, paths) = OpenApiRouter::<AppState>::default()
        .routes(routes!(api::health))
        .routes(routes!(auth::whoami, auth::login, auth::logout))
        .routes(routes!(auth::change_password))
        .routes(routes!(api::list_projects))
        .routes(routes!(annotate::next))
        .routes(routes!(annotate::submit))
        .routes(routes!(annotate::skip))
        .routes(routes!(annotate::progress))
        .routes(routes!(annotate::guideline))
        .routes(routes!(admin::members, admin::add_member))
        .routes(routes!(admin::revoke_role))
        .routes(routes!(admin::settings, admin::update_settings))
        .routes(routes!(export::download))
        .routes(
            routes!(import::upload).layer(axum::extract::DefaultBodyLimit::max(
                import::MAX_UPLOAD_BYTES,
            )),
        )
        .routes(routes!(review::report))
        .routes(routes!(review::chart_csv))
        .routes(routes!(review::list))
        .routes(routes!(review::show, review::decide))
        .routes(routes!(guideline::versions))
        .routes(routes!(guideline::version))
        .routes(routes!(guideline::impact))
        .routes(routes!(guideline::send_rereview))
        .routes(routes!(guideline::diff))
        .routes(routes!(guideline::draft, guideline::save_draft))
        .routes(routes!(guideline::search_pairs))
        .routes(routes!(guideline::publish))
        .routes(routes!(guideline::decide_rereview))
        .split_for_parts();
    let document = Bytes::from(
        ApiDoc::openapi()
            .nest("/api", paths)
            .to_json()
            .expect("the OpenAPI document serializes"),
    );
    routes
        .route(
            "/v1/openapi.json",
            get(move || {
                let document = document.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], document).into_response() }
            }),
        )
        .fallback(api::not_found)
}
