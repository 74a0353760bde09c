//! `/addresses` (search across users) and `/users/{user}/addresses` (a user's addresses).

use super::AppState;
use super::de;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs};
use super::paging::{PageArgs, cursors};
use super::shape::{Created, CursorOrFalse, Success, iso_date};
use axum::Json;
use axum::extract::State;
use sealpost_core::AddressRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_addresses))
        .routes(routes!(list_addresses, create_address))
        .routes(routes!(get_address, update_address, delete_address))
}

// ---- shapes ----

/// An address found by `GET /addresses`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressSearchItem {
    #[schema(example = "5970860fcdb513ce633407a8")]
    pub id: String,
    #[schema(example = "testuser01@example.com")]
    pub address: String,
    /// Id of the owning user.
    pub user: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressSearchList {
    pub success: bool,
    /// The `query` argument, echoed ("" when none).
    pub query: String,
    pub total: i64,
    pub page: u32,
    pub previous_cursor: CursorOrFalse,
    pub next_cursor: CursorOrFalse,
    pub results: Vec<AddressSearchItem>,
}

/// One address of a user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserAddress {
    #[schema(example = "596c9c37ef2213165daadc6b")]
    pub id: String,
    #[schema(example = "testuser@example.com")]
    pub address: String,
    /// The user's main address.
    pub main: bool,
    #[schema(example = "2017-07-17T11:15:03.841Z")]
    pub created: String,
}

impl From<AddressRecord> for UserAddress {
    fn from(a: AddressRecord) -> Self {
        UserAddress {
            id: a.id.to_string(),
            address: a.address,
            main: a.main,
            created: iso_date(a.created),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserAddressList {
    pub success: bool,
    pub results: Vec<UserAddress>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AddressInfo {
    pub success: bool,
    pub id: String,
    pub address: String,
    pub main: bool,
    pub created: String,
}

impl From<AddressRecord> for AddressInfo {
    fn from(a: AddressRecord) -> Self {
        let UserAddress {
            id,
            address,
            main,
            created,
        } = a.into();
        AddressInfo {
            success: true,
            id,
            address,
            main,
            created,
        }
    }
}

// ---- requests ----

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AddressSearchQuery {
    /// Partial match on the address.
    pub query: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateAddressRequest {
    /// The address (internationalized addresses allowed).
    #[schema(required = true, example = "user@example.com")]
    pub address: Option<String>,
    /// Make it the user's main address (default false).
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub main: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateAddressRequest {
    /// Must be true: makes this the user's main address.
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub main: Option<bool>,
}

// ---- handlers ----

/// Search addresses of all users.
#[utoipa::path(
    get,
    path = "/addresses",
    tag = "Addresses",
    params(AddressSearchQuery, PageArgs),
    responses(
        (status = 200, description = "One page of addresses", body = AddressSearchList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
    )
)]
async fn search_addresses(
    State(s): State<AppState>,
    QueryArgs(q): QueryArgs<AddressSearchQuery>,
    QueryArgs(p): QueryArgs<PageArgs>,
) -> ApiResult<Json<AddressSearchList>> {
    let paging = p.paging()?;
    let query = de::query_str(&q.query);
    let page = s.core.search_addresses(query, &paging.request).await?;
    let (previous_cursor, next_cursor) = cursors(&page);
    Ok(Json(AddressSearchList {
        success: true,
        query: query.unwrap_or_default().to_string(),
        total: page.total,
        page: paging.page,
        previous_cursor,
        next_cursor,
        results: page
            .results
            .into_iter()
            .map(|a| AddressSearchItem {
                id: a.id.to_string(),
                address: a.address,
                user: a.user.to_string(),
            })
            .collect(),
    }))
}

/// List a user's addresses.
#[utoipa::path(
    get,
    path = "/users/{user}/addresses",
    tag = "Addresses",
    params(("user" = String, Path, description = "User id (24 hex)")),
    responses(
        (status = 200, description = "The user's addresses", body = UserAddressList),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn list_addresses(
    State(s): State<AppState>,
    path: PathArgs,
) -> ApiResult<Json<UserAddressList>> {
    let user = path.id("user")?;
    let list = s.core.list_addresses(&user).await?;
    Ok(Json(UserAddressList {
        success: true,
        results: list.into_iter().map(UserAddress::from).collect(),
    }))
}

/// Add an address to a user.
#[utoipa::path(
    post,
    path = "/users/{user}/addresses",
    tag = "Addresses",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = CreateAddressRequest,
    responses(
        (status = 200, description = "Created", body = Created),
        (status = 400, description = "Invalid input or the address is taken", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn create_address(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<CreateAddressRequest>,
) -> ApiResult<Json<Created>> {
    let user = path.id("user")?;
    let address = body
        .address
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::invalid("address", "\"address\" is required"))?;
    let id = s
        .core
        .create_address(&user, &address, body.main.unwrap_or(false))
        .await?;
    Ok(Created::id(id))
}

/// Get one address of a user.
#[utoipa::path(
    get,
    path = "/users/{user}/addresses/{address}",
    tag = "Addresses",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("address" = String, Path, description = "Address id (24 hex)"),
    ),
    responses(
        (status = 200, description = "The address", body = AddressInfo),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user or address", body = ErrorBody),
    )
)]
async fn get_address(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<AddressInfo>> {
    let (user, address) = (path.id("user")?, path.id("address")?);
    Ok(Json(s.core.get_address(&user, &address).await?.into()))
}

/// Update an address: make it the main address.
#[utoipa::path(
    put,
    path = "/users/{user}/addresses/{address}",
    tag = "Addresses",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("address" = String, Path, description = "Address id (24 hex)"),
    ),
    request_body = UpdateAddressRequest,
    responses(
        (status = 200, description = "Updated", body = Success),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 404, description = "No such user or address", body = ErrorBody),
    )
)]
async fn update_address(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<UpdateAddressRequest>,
) -> ApiResult<Json<Success>> {
    let (user, address) = (path.id("user")?, path.id("address")?);
    match body.main {
        Some(true) => s.core.set_main_address(&user, &address).await?,
        Some(false) => return Err(ApiError::invalid("main", "\"main\" must be [true]")),
        // Nothing to change; still report a missing address.
        None => {
            s.core.get_address(&user, &address).await?;
        }
    }
    Ok(Success::ok())
}

/// Delete an alias address (not the main one).
#[utoipa::path(
    delete,
    path = "/users/{user}/addresses/{address}",
    tag = "Addresses",
    params(
        ("user" = String, Path, description = "User id (24 hex)"),
        ("address" = String, Path, description = "Address id (24 hex)"),
    ),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid id, or the main address", body = ErrorBody),
        (status = 404, description = "No such user or address", body = ErrorBody),
    )
)]
async fn delete_address(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<Success>> {
    let (user, address) = (path.id("user")?, path.id("address")?);
    s.core.delete_address(&user, &address).await?;
    Ok(Success::ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_core::ObjectId;
    use serde_json::json;

    #[test]
    fn address_shapes() {
        let rec = AddressRecord {
            id: ObjectId::parse("596c9c37ef2213165daadc6b").unwrap(),
            user: ObjectId::parse("59467f27535f8f0f067ba8e6").unwrap(),
            address: "testuser@example.com".into(),
            main: true,
            created: 1_500_290_103_841,
        };
        assert_eq!(
            serde_json::to_value(UserAddress::from(rec.clone())).unwrap(),
            json!({"id": "596c9c37ef2213165daadc6b", "address": "testuser@example.com", "main": true,
                   "created": "2017-07-17T11:15:03.841Z"})
        );
        assert_eq!(
            serde_json::to_value(AddressInfo::from(rec)).unwrap(),
            json!({"success": true, "id": "596c9c37ef2213165daadc6b", "address": "testuser@example.com",
                   "main": true, "created": "2017-07-17T11:15:03.841Z"})
        );
    }
}
