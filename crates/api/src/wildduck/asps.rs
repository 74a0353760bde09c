//! `/users/{user}/asps`: application specific passwords (list, create, delete).

use super::AppState;
use super::de;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs};
use super::shape::{Success, iso_date};
use axum::Json;
use axum::extract::State;
use sealpost_core::{ASP_SCOPES, AspRecord, AspRequest, AuthMeta};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_asps, create_asp))
        .routes(routes!(get_asp, delete_asp))
}

/// `sess` and `ip` of a request, for the authentication log (body or query string).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct LogArgs {
    /// Session identifier for the authentication log.
    pub sess: Option<String>,
    /// IP address the request was made from, for the authentication log.
    pub ip: Option<String>,
}

impl LogArgs {
    pub fn meta(&self) -> AuthMeta {
        AuthMeta::new("API", self.sess.clone(), self.ip.clone())
    }
}

/// When and with which log entry a password was last used (empty when never).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct LastUse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Id of the authentication log entry (`GET /users/{user}/authlog/{event}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
}

/// One application specific password (never the password itself).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AspItem {
    #[schema(example = "5975d1ac97130ca55afa0c7f")]
    pub id: String,
    #[schema(example = "OSX Mail App")]
    pub description: String,
    /// "imap", "pop3", "smtp" ("*" is listed as all three, as WildDuck lists it).
    pub scopes: Vec<String>,
    pub last_use: LastUse,
    pub created: String,
    /// When a temporary password stops working; absent for a lasting one, as WildDuck
    /// answers (its document marks the field required, its code leaves it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl From<AspRecord> for AspItem {
    fn from(a: AspRecord) -> Self {
        let scopes = if a.scopes.iter().any(|s| s == "*") {
            ASP_SCOPES
                .iter()
                .filter(|s| **s != "*")
                .map(|s| s.to_string())
                .collect()
        } else {
            a.scopes
        };
        AspItem {
            id: a.id.to_string(),
            description: a.description,
            scopes,
            last_use: LastUse {
                time: a.last_use.map(iso_date),
                event: a.last_event.map(|e| e.to_string()),
            },
            created: iso_date(a.created),
            expires: a.expires.map(iso_date),
        }
    }
}

/// `GET /users/{user}/asps/{asp}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AspResponse {
    pub success: bool,
    #[serde(flatten)]
    pub asp: AspItem,
}

/// `GET /users/{user}/asps` options.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, rename_all = "camelCase")]
pub struct ListAspArgs {
    /// Also list temporary (`ttl`) passwords; left out by default, as WildDuck does.
    #[param(value_type = Option<bool>)]
    pub show_all: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AspList {
    pub success: bool,
    pub results: Vec<AspItem>,
}

/// `POST /users/{user}/asps`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CreateAspRequest {
    /// Name of the application.
    #[schema(required = true, example = "Mac OSX Mail Client")]
    pub description: Option<String>,
    /// Array (or comma separated string) of "imap", "pop3", "smtp"; "*" (default) is all.
    #[serde(deserialize_with = "de::opt_tags")]
    #[schema(value_type = Option<Vec<String>>)]
    pub scopes: Option<Vec<String>>,
    /// Also return a base64 Apple configuration profile.
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub generate_mobileconfig: Option<bool>,
    /// A chosen password: 16 latin letters.
    pub password: Option<String>,
    /// Seconds the password lives past its creation and each use (a temporary password).
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>)]
    pub ttl: Option<i64>,
    /// One of the user's addresses, for the profile; default the main address.
    pub address: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedAspResponse {
    pub success: bool,
    #[schema(example = "59773be3a7bc855155286d91")]
    pub id: String,
    /// The password; shown only here.
    #[schema(example = "slrfwaavyzmatgxf")]
    pub password: String,
    /// Base64 `.mobileconfig` (content type `application/x-apple-aspen-config`); with it
    /// the account's `name` and `address`, as WildDuck answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobileconfig: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// List a user's application specific passwords.
#[utoipa::path(
    get,
    path = "/users/{user}/asps",
    tag = "Application Specific Passwords",
    params(("user" = String, Path, description = "User id (24 hex)"), ListAspArgs),
    responses(
        (status = 200, description = "The passwords", body = AspList),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn list_asps(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(q): QueryArgs<ListAspArgs>,
) -> ApiResult<Json<AspList>> {
    let user = path.id("user")?;
    let show_all = de::query_bool("showAll", q.show_all.as_deref())?.unwrap_or(false);
    let results = s.core.list_asps(&user, show_all).await?;
    Ok(Json(AspList {
        success: true,
        results: results.into_iter().map(AspItem::from).collect(),
    }))
}

/// One application specific password.
#[utoipa::path(
    get,
    path = "/users/{user}/asps/{asp}",
    tag = "Application Specific Passwords",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("asp" = String, Path, description = "Password id (24 hex)"),
        LogArgs,
    ),
    responses(
        (status = 200, description = "The password's details", body = AspResponse),
        (status = 404, description = "No such user or password", body = ErrorBody),
    )
)]
async fn get_asp(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<AspResponse>> {
    let (user, asp) = (path.id("user")?, path.id("asp")?);
    let record = s.core.get_asp(&user, &asp).await?;
    Ok(Json(AspResponse {
        success: true,
        asp: AspItem::from(record),
    }))
}

/// Create an application specific password.
#[utoipa::path(
    post,
    path = "/users/{user}/asps",
    tag = "Application Specific Passwords",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = CreateAspRequest,
    responses(
        (status = 200, description = "Created; the password is shown only now", body = CreatedAspResponse),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn create_asp(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<CreateAspRequest>,
) -> ApiResult<Json<CreatedAspResponse>> {
    let user = path.id("user")?;
    let description = body
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("description", "\"description\" is required"))?;
    let meta = AuthMeta::new("API", body.sess.clone(), body.ip.clone());
    let request = AspRequest {
        description: description.to_string(),
        scopes: body.scopes.clone().unwrap_or_default(),
        password: body.password.clone(),
        ttl: body.ttl,
        address: body.address.clone(),
        mobileconfig: body.generate_mobileconfig.unwrap_or(false),
    };
    let created = s.core.create_asp_with(&user, &request, &meta).await?;
    let profile = created.mobileconfig.is_some();
    Ok(Json(CreatedAspResponse {
        success: true,
        id: created.id.to_string(),
        password: created.password,
        mobileconfig: created.mobileconfig,
        name: profile.then_some(created.name),
        address: profile.then_some(created.address),
    }))
}

/// Delete an application specific password.
#[utoipa::path(
    delete,
    path = "/users/{user}/asps/{asp}",
    tag = "Application Specific Passwords",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("asp" = String, Path, description = "Password id (24 hex)"),
        LogArgs,
    ),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 404, description = "No such user or password", body = ErrorBody),
    )
)]
async fn delete_asp(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(q): QueryArgs<LogArgs>,
) -> ApiResult<Json<Success>> {
    let (user, asp) = (path.id("user")?, path.id("asp")?);
    s.core.delete_asp(&user, &asp, &q.meta()).await?;
    Ok(Success::ok())
}
