//! `POST /users/{user}/quota/reset`: recounts a user's stored bytes; `POST /quota/reset`
//! recounts every user's as a background job.

use super::AppState;
use super::error::{ApiResult, ErrorBody};
use super::extract::PathArgs;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reset_quota))
        .routes(routes!(reset_all_quotas))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotaReset {
    pub success: bool,
    /// Bytes stored, as recounted.
    #[schema(example = 128)]
    pub storage_used: i64,
}

/// Recalculate a user's used storage.
#[utoipa::path(
    post,
    path = "/users/{user}/quota/reset",
    tag = "Quota",
    params(("user" = String, Path, description = "User id (24 hex)")),
    responses(
        (status = 200, description = "Recounted", body = QuotaReset),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn reset_quota(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<QuotaReset>> {
    let user = path.id("user")?;
    let storage_used = s.core.reset_quota(&user).await?;
    Ok(Json(QuotaReset {
        success: true,
        storage_used,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskStarted {
    pub success: bool,
    /// Id of the background job.
    pub task: String,
}

/// Recalculate the used storage of every user, as a background job.
#[utoipa::path(
    post,
    path = "/quota/reset",
    tag = "Quota",
    responses(
        (status = 200, description = "The job was started", body = TaskStarted),
    )
)]
async fn reset_all_quotas(State(s): State<AppState>) -> Json<TaskStarted> {
    Json(TaskStarted {
        success: true,
        task: s.core.start_quota_reset_all().to_string(),
    })
}
