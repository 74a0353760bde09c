//! `/addresses/forwarded`: addresses without a mailbox that forward their mail (create, get,
//! update, delete). The rules live in core (`sealpost_core::forwarded`). The path parameter
//! is the address's id, as in WildDuck (whose document names it `{id}` on `PUT`).

use super::AppState;
use super::autoreply::UpdateAutoreplyRequest;
use super::de;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs};
use super::shape::{Created, Success, iso_date};
use axum::Json;
use axum::extract::State;
use sealpost_core::forwarded::{
    ForwardedId, ForwardedInfo, ForwardedUpdate, NewForwarded, ResolvedAddress,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_forwarded))
        .routes(routes!(get_forwarded, update_forwarded, delete_forwarded))
        .routes(routes!(resolve_address))
}

/// `GET /addresses/resolve/{address}`: a user's or a forwarded address.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedAddressInfo {
    pub success: bool,
    pub id: String,
    pub address: String,
    /// Identity name (a user's address: the user's name).
    pub name: String,
    /// The owner, for a user's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The targets, for a forwarded address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<String>>,
    pub limits: ForwardLimits,
    pub autoreply: ResolvedAutoreply,
    pub tags: Vec<String>,
    pub created: String,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub internal_data: Value,
}

/// Whether the address's autoreply is on.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolvedAutoreply {
    pub status: bool,
}

/// The 24 h forwarding allowance.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForwardLimit {
    /// Forwards allowed per 24 hours.
    pub allowed: i64,
    /// Forwards made in the current 24 hours.
    pub used: i64,
    /// Seconds until the current 24 hours end.
    pub ttl: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForwardLimits {
    pub forwards: ForwardLimit,
}

/// The autoreply of an address.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressAutoreply {
    pub status: bool,
    pub name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `GET /addresses/forwarded/{address}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ForwardedAddress {
    pub success: bool,
    #[schema(example = "59ef21aef255ed1d9d790e81")]
    pub id: String,
    #[schema(example = "sales@example.com")]
    pub address: String,
    pub name: String,
    pub targets: Vec<String>,
    pub limits: ForwardLimits,
    pub autoreply: AddressAutoreply,
    #[schema(example = "2017-07-17T11:15:03.841Z")]
    pub created: String,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub meta_data: Value,
    #[schema(value_type = Object)]
    pub internal_data: Value,
    pub forwarded_disabled: bool,
}

impl From<ForwardedInfo> for ForwardedAddress {
    fn from(f: ForwardedInfo) -> Self {
        ForwardedAddress {
            success: true,
            id: f.id.to_string(),
            address: f.address,
            name: f.name,
            targets: f.targets,
            limits: ForwardLimits {
                forwards: ForwardLimit {
                    allowed: f.forwards_allowed,
                    used: f.forwards_used,
                    ttl: f.forwards_ttl,
                },
            },
            autoreply: AddressAutoreply {
                status: f.autoreply.status,
                name: f.autoreply.name,
                subject: f.autoreply.subject,
                text: f.autoreply.text,
                html: f.autoreply.html,
            },
            created: iso_date(f.created),
            tags: f.tags,
            meta_data: f.meta_data,
            internal_data: f.internal_data,
            forwarded_disabled: f.disabled,
        }
    }
}

/// `POST /addresses/forwarded`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CreateForwardedRequest {
    #[schema(required = true, example = "sales@example.com")]
    pub address: Option<String>,
    /// Identity name.
    pub name: Option<String>,
    /// E-mail addresses to forward to (relay and URL targets are not supported).
    #[serde(deserialize_with = "de::opt_tags")]
    #[schema(value_type = Option<Vec<String>>)]
    pub targets: Option<Vec<String>>,
    /// Forwards allowed per 24 hours (0: the server's default).
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>)]
    pub forwards: Option<i64>,
    /// Wildcard addresses are not supported: `true` is refused.
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub allow_wildcard: Option<bool>,
    pub autoreply: Option<UpdateAutoreplyRequest>,
    #[serde(deserialize_with = "de::opt_tags")]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Option<Vec<String>>,
    /// An object, or the JSON of one.
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Value>,
    /// An object, or the JSON of one.
    #[schema(value_type = Option<Object>)]
    pub internal_data: Option<Value>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

/// `PUT /addresses/forwarded/{address}`: only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateForwardedRequest {
    pub address: Option<String>,
    pub name: Option<String>,
    /// Replaces the targets.
    #[serde(deserialize_with = "de::opt_tags")]
    #[schema(value_type = Option<Vec<String>>)]
    pub targets: Option<Vec<String>>,
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>)]
    pub forwards: Option<i64>,
    pub autoreply: Option<UpdateAutoreplyRequest>,
    #[serde(deserialize_with = "de::opt_tags")]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub internal_data: Option<Value>,
    /// Stops forwarding (mail is still accepted).
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub forwarded_disabled: Option<bool>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

fn forwarded_id(path: &PathArgs) -> ApiResult<ForwardedId> {
    Ok(ForwardedId(path.id("address")?))
}

/// Create a forwarded address.
#[utoipa::path(
    post,
    path = "/addresses/forwarded",
    tag = "Addresses",
    request_body = CreateForwardedRequest,
    responses(
        (status = 200, description = "Created", body = Created),
        (status = 400, description = "Invalid input, or the address exists (AddressExistsError)", body = ErrorBody),
    )
)]
async fn create_forwarded(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<CreateForwardedRequest>,
) -> ApiResult<Json<Created>> {
    let address = body
        .address
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("address", "\"address\" is required"))?;
    let id = s
        .core
        .create_forwarded(NewForwarded {
            address,
            name: body.name,
            targets: body.targets.unwrap_or_default(),
            forwards: body.forwards,
            allow_wildcard: body.allow_wildcard.unwrap_or(false),
            autoreply: body.autoreply.map(Into::into),
            tags: body.tags.unwrap_or_default(),
            meta_data: body.meta_data,
            internal_data: body.internal_data,
        })
        .await?;
    Ok(Created::id(id))
}

/// Request forwarded address information.
#[utoipa::path(
    get,
    path = "/addresses/forwarded/{address}",
    tag = "Addresses",
    params(("address" = String, Path, description = "ID of the address (24 hex)")),
    responses(
        (status = 200, description = "The address", body = ForwardedAddress),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such address (AddressNotFound)", body = ErrorBody),
    )
)]
async fn get_forwarded(
    State(s): State<AppState>,
    path: PathArgs,
) -> ApiResult<Json<ForwardedAddress>> {
    let info = s.core.forwarded_info(&forwarded_id(&path)?).await?;
    Ok(Json(info.into()))
}

/// Update a forwarded address.
#[utoipa::path(
    put,
    path = "/addresses/forwarded/{address}",
    tag = "Addresses",
    params(("address" = String, Path, description = "ID of the address (24 hex)")),
    request_body = UpdateForwardedRequest,
    responses(
        (status = 200, description = "Updated", body = Success),
        (status = 400, description = "Invalid input, or the new address exists", body = ErrorBody),
        (status = 404, description = "No such address (AddressNotFound)", body = ErrorBody),
    )
)]
async fn update_forwarded(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<UpdateForwardedRequest>,
) -> ApiResult<Json<Success>> {
    let id = forwarded_id(&path)?;
    s.core
        .update_forwarded(
            &id,
            ForwardedUpdate {
                address: body.address.filter(|a| !a.trim().is_empty()),
                name: body.name,
                targets: body.targets,
                forwards: body.forwards,
                autoreply: body.autoreply.map(Into::into),
                tags: body.tags,
                meta_data: body.meta_data,
                internal_data: body.internal_data,
                disabled: body.forwarded_disabled,
            },
        )
        .await?;
    Ok(Success::ok())
}

/// Delete a forwarded address.
#[utoipa::path(
    delete,
    path = "/addresses/forwarded/{address}",
    tag = "Addresses",
    params(("address" = String, Path, description = "ID of the address (24 hex)")),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such address (AddressNotFound)", body = ErrorBody),
    )
)]
async fn delete_forwarded(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<Success>> {
    s.core.delete_forwarded(&forwarded_id(&path)?).await?;
    Ok(Success::ok())
}

/// Resolve an address (or an address id) to a user's or a forwarded address.
#[utoipa::path(
    get,
    path = "/addresses/resolve/{address}",
    tag = "Addresses",
    params(("address" = String, Path, description = "ID of the address, or the address")),
    responses(
        (status = 200, description = "The address", body = ResolvedAddressInfo),
        (status = 404, description = "No such address (AddressNotFound)", body = ErrorBody),
    )
)]
async fn resolve_address(
    State(s): State<AppState>,
    path: PathArgs,
) -> ApiResult<Json<ResolvedAddressInfo>> {
    let found = s.core.resolve_address(path.str("address")?).await?;
    Ok(Json(match found {
        ResolvedAddress::User {
            address,
            name,
            forwards_allowed,
            forwards_used,
            forwards_ttl,
            autoreply,
        } => ResolvedAddressInfo {
            success: true,
            id: address.id.to_string(),
            address: address.address,
            name,
            user: Some(address.user.to_string()),
            targets: None,
            limits: ForwardLimits {
                forwards: ForwardLimit {
                    allowed: forwards_allowed,
                    used: forwards_used,
                    ttl: forwards_ttl,
                },
            },
            autoreply: ResolvedAutoreply { status: autoreply },
            tags: Vec::new(),
            created: iso_date(address.created),
            meta_data: serde_json::json!({}),
            internal_data: serde_json::json!({}),
        },
        ResolvedAddress::Forwarded(f) => {
            let f = ForwardedAddress::from(*f);
            ResolvedAddressInfo {
                success: true,
                id: f.id,
                address: f.address,
                name: f.name,
                user: None,
                targets: Some(f.targets),
                limits: f.limits,
                autoreply: ResolvedAutoreply {
                    status: f.autoreply.status,
                },
                tags: f.tags,
                created: f.created,
                meta_data: f.meta_data,
                internal_data: f.internal_data,
            }
        }
    }))
}
