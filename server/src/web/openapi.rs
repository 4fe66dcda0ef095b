//! The OpenAPI document of `/api/v1`, generated from the handlers and their types.

use axum::Json;
use utoipa::OpenApi;

use super::{admin, annotate, api, auth, export, guideline, import, review};

/// The API description served at `/api/v1/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "relabel",
        description = "Label e-commerce search relevance; the annotator's and scripts' API. \
                       Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        api::health,
        api::list_projects,
        auth::login,
        auth::logout,
        auth::whoami,
        auth::change_password,
        annotate::next,
        annotate::submit,
        annotate::skip,
        annotate::progress,
        annotate::guideline,
        admin::members,
        admin::add_member,
        admin::revoke_role,
        admin::settings,
        admin::update_settings,
        export::download,
        import::upload,
        review::report,
        review::chart_csv,
        review::list,
        review::show,
        review::decide,
        guideline::versions,
        guideline::version,
        guideline::diff,
        guideline::impact,
        guideline::send_rereview,
        guideline::draft,
        guideline::save_draft,
        guideline::search_pairs,
        guideline::publish,
        guideline::decide_rereview
    )
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
