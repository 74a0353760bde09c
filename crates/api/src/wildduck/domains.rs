//! `/domainaliases` (another name of a domain: list, create, resolve, get, delete) and
//! `/domainaccess` (per-tag allow and block lists of sender domains), as WildDuck's API has
//! them. The rules live in core (`sealpost_core::domains`).

use super::AppState;
use super::de::query_str;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs};
use super::paging::{PageArgs, cursors};
use super::shape::{Created, CursorOrFalse, Success, iso_date};
use axum::Json;
use axum::extract::State;
use sealpost_core::domains::{Access, DomainAccessId, DomainAliasId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_aliases, create_alias))
        .routes(routes!(resolve_alias))
        .routes(routes!(get_alias, delete_alias))
        .routes(routes!(list_allowed, allow_domain))
        .routes(routes!(list_blocked, block_domain))
        .routes(routes!(delete_listing))
        .routes(routes!(rename_domain))
}

/// `PUT /addresses/renameDomain`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct RenameDomainRequest {
    #[schema(required = true, example = "old.example.com")]
    pub old_domain: Option<String>,
    #[schema(required = true, example = "new.example.com")]
    pub new_domain: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DomainRenamed {
    pub success: bool,
    /// User and forwarded addresses moved.
    pub modified_addresses: u64,
    /// Users whose main address changed.
    pub modified_users: u64,
    /// Always 0: a DKIM key is sealed for its domain; make one for the new domain.
    pub modified_dkim: u64,
    pub modified_aliases: u64,
}

/// Rename a domain in every address (user and forwarded), main address and domain alias.
#[utoipa::path(
    put,
    path = "/addresses/renameDomain",
    tag = "Addresses",
    request_body = RenameDomainRequest,
    responses(
        (status = 200, description = "Renamed", body = DomainRenamed),
        (status = 400, description = "Invalid input, or a renamed address exists (AddressExistsError)", body = ErrorBody),
    )
)]
async fn rename_domain(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<RenameDomainRequest>,
) -> ApiResult<Json<DomainRenamed>> {
    let old = required(body.old_domain, "oldDomain")?;
    let new = required(body.new_domain, "newDomain")?;
    let r = s.core.rename_domain(&old, &new).await?;
    Ok(Json(DomainRenamed {
        success: true,
        modified_addresses: r.addresses,
        modified_users: r.users,
        modified_dkim: 0,
        modified_aliases: r.aliases,
    }))
}

// ---- shapes ----

/// One alias in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainAliasItem {
    #[schema(example = "59ef21aef255ed1d9d790e81")]
    pub id: String,
    /// The alias domain.
    #[schema(example = "example.net")]
    pub alias: String,
    /// The domain it stands for.
    #[schema(example = "example.com")]
    pub domain: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DomainAliasList {
    pub success: bool,
    /// The `query` argument, echoed ("" when none).
    pub query: String,
    pub total: i64,
    pub page: u32,
    pub previous_cursor: CursorOrFalse,
    pub next_cursor: CursorOrFalse,
    pub results: Vec<DomainAliasItem>,
}

/// `GET /domainaliases/{alias}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainAliasInfo {
    pub success: bool,
    pub id: String,
    pub alias: String,
    pub domain: String,
    #[schema(example = "2017-07-17T11:15:03.841Z")]
    pub created: String,
}

/// One entry of an access list.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessItem {
    #[schema(example = "59ef21aef255ed1d9d790e81")]
    pub id: String,
    #[schema(example = "example.com")]
    pub domain: String,
    /// `allow` or `block`.
    #[schema(example = "allow")]
    pub action: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessList {
    pub success: bool,
    pub results: Vec<AccessItem>,
}

/// `DELETE /domainaccess/{domain}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessDeleted {
    pub success: bool,
    /// The id of the deleted entry.
    pub deleted: String,
}

// ---- requests ----

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AliasQuery {
    /// Partial match of an alias or a domain name.
    pub query: Option<String>,
}

/// `POST /domainaliases`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateAliasRequest {
    /// The alias domain.
    #[schema(required = true, example = "example.net")]
    pub alias: Option<String>,
    /// The domain this alias stands for.
    #[schema(required = true, example = "example.com")]
    pub domain: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

/// `POST /domainaccess/{tag}/allow|block`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct AccessRequest {
    /// The sender domain to list for users with this tag.
    #[schema(required = true, example = "example.com")]
    pub domain: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

fn required(value: Option<String>, field: &str) -> ApiResult<String> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::invalid(field, format!("\"{field}\" is required")))
}

// ---- domain aliases ----

/// List registered domain aliases.
#[utoipa::path(
    get,
    path = "/domainaliases",
    tag = "DomainAliases",
    params(AliasQuery, PageArgs),
    responses(
        (status = 200, description = "One page of aliases, by id", body = DomainAliasList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
    )
)]
async fn list_aliases(
    State(s): State<AppState>,
    QueryArgs(q): QueryArgs<AliasQuery>,
    QueryArgs(p): QueryArgs<PageArgs>,
) -> ApiResult<Json<DomainAliasList>> {
    let paging = p.paging()?;
    let query = query_str(&q.query).map(str::to_string);
    let page = s
        .core
        .list_domain_aliases(query.as_deref(), &paging.request)
        .await?;
    let (previous_cursor, next_cursor) = cursors(&page);
    Ok(Json(DomainAliasList {
        success: true,
        query: query.unwrap_or_default(),
        total: page.total,
        page: paging.page,
        previous_cursor,
        next_cursor,
        results: page
            .results
            .into_iter()
            .map(|a| DomainAliasItem {
                id: a.id.to_string(),
                alias: a.alias,
                domain: a.domain,
            })
            .collect(),
    }))
}

/// Create a domain alias: mail to `user@alias` goes to `user@domain`.
#[utoipa::path(
    post,
    path = "/domainaliases",
    tag = "DomainAliases",
    request_body = CreateAliasRequest,
    responses(
        (status = 200, description = "Created", body = Created),
        (status = 400, description = "Invalid input, or the alias exists (AliasExists)", body = ErrorBody),
    )
)]
async fn create_alias(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<CreateAliasRequest>,
) -> ApiResult<Json<Created>> {
    let alias = required(body.alias, "alias")?;
    let domain = required(body.domain, "domain")?;
    let id = s.core.create_domain_alias(&alias, &domain).await?;
    Ok(Created::id(id))
}

/// Resolve the id of a domain alias.
#[utoipa::path(
    get,
    path = "/domainaliases/resolve/{alias}",
    tag = "DomainAliases",
    params(("alias" = String, Path, description = "Alias domain")),
    responses(
        (status = 200, description = "The alias's id", body = Created),
        (status = 404, description = "No such alias (AliasNotFound)", body = ErrorBody),
    )
)]
async fn resolve_alias(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<Created>> {
    let id = s.core.resolve_domain_alias(path.str("alias")?).await?;
    Ok(Created::id(id))
}

/// Request alias information.
#[utoipa::path(
    get,
    path = "/domainaliases/{alias}",
    tag = "DomainAliases",
    params(("alias" = String, Path, description = "ID of the alias (24 hex)")),
    responses(
        (status = 200, description = "The alias", body = DomainAliasInfo),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such alias (AliasNotFound)", body = ErrorBody),
    )
)]
async fn get_alias(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<DomainAliasInfo>> {
    let a = s
        .core
        .domain_alias(&DomainAliasId(path.id("alias")?))
        .await?;
    Ok(Json(DomainAliasInfo {
        success: true,
        id: a.id.to_string(),
        alias: a.alias,
        domain: a.domain,
        created: iso_date(a.created),
    }))
}

/// Delete a domain alias.
#[utoipa::path(
    delete,
    path = "/domainaliases/{alias}",
    tag = "DomainAliases",
    params(("alias" = String, Path, description = "ID of the alias (24 hex)")),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such alias (AliasNotFound)", body = ErrorBody),
    )
)]
async fn delete_alias(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<Success>> {
    s.core
        .delete_domain_alias(&DomainAliasId(path.id("alias")?))
        .await?;
    Ok(Success::ok())
}

// ---- domain access ----

async fn list_access(s: &AppState, path: &PathArgs, action: Access) -> ApiResult<Json<AccessList>> {
    let list = s.core.domain_access_list(path.str("tag")?, action).await?;
    Ok(Json(AccessList {
        success: true,
        results: list
            .into_iter()
            .map(|e| AccessItem {
                id: e.id.to_string(),
                domain: e.domain,
                action: e.action,
            })
            .collect(),
    }))
}

async fn add_access(
    s: &AppState,
    path: &PathArgs,
    body: AccessRequest,
    action: Access,
) -> ApiResult<Json<Created>> {
    let domain = required(body.domain, "domain")?;
    let id = s
        .core
        .set_domain_access(path.str("tag")?, &domain, action)
        .await?;
    Ok(Created::id(id))
}

/// List allowlisted domains of a tag.
#[utoipa::path(
    get,
    path = "/domainaccess/{tag}/allow",
    tag = "DomainAccess",
    params(("tag" = String, Path, description = "Tag to look for")),
    responses(
        (status = 200, description = "The tag's allowlist, by domain", body = AccessList),
        (status = 400, description = "Invalid tag", body = ErrorBody),
    )
)]
async fn list_allowed(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<AccessList>> {
    list_access(&s, &path, Access::Allow).await
}

/// Add a domain to a tag's allowlist: mail from it is never spam for users with the tag.
#[utoipa::path(
    post,
    path = "/domainaccess/{tag}/allow",
    tag = "DomainAccess",
    params(("tag" = String, Path, description = "Tag to look for")),
    request_body = AccessRequest,
    responses(
        (status = 200, description = "Listed", body = Created),
        (status = 400, description = "Invalid input", body = ErrorBody),
    )
)]
async fn allow_domain(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<AccessRequest>,
) -> ApiResult<Json<Created>> {
    add_access(&s, &path, body, Access::Allow).await
}

/// List blocklisted domains of a tag.
#[utoipa::path(
    get,
    path = "/domainaccess/{tag}/block",
    tag = "DomainAccess",
    params(("tag" = String, Path, description = "Tag to look for")),
    responses(
        (status = 200, description = "The tag's blocklist, by domain", body = AccessList),
        (status = 400, description = "Invalid tag", body = ErrorBody),
    )
)]
async fn list_blocked(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<AccessList>> {
    list_access(&s, &path, Access::Block).await
}

/// Add a domain to a tag's blocklist: mail from it is always spam for users with the tag.
#[utoipa::path(
    post,
    path = "/domainaccess/{tag}/block",
    tag = "DomainAccess",
    params(("tag" = String, Path, description = "Tag to look for")),
    request_body = AccessRequest,
    responses(
        (status = 200, description = "Listed", body = Created),
        (status = 400, description = "Invalid input", body = ErrorBody),
    )
)]
async fn block_domain(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<AccessRequest>,
) -> ApiResult<Json<Created>> {
    add_access(&s, &path, body, Access::Block).await
}

/// Delete an entry from an access list.
#[utoipa::path(
    delete,
    path = "/domainaccess/{domain}",
    tag = "DomainAccess",
    params(("domain" = String, Path, description = "ID of the listing (24 hex)")),
    responses(
        (status = 200, description = "Deleted", body = AccessDeleted),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such entry", body = ErrorBody),
    )
)]
async fn delete_listing(
    State(s): State<AppState>,
    path: PathArgs,
) -> ApiResult<Json<AccessDeleted>> {
    let id = DomainAccessId(path.id("domain")?);
    s.core.delete_domain_access(&id).await?;
    Ok(Json(AccessDeleted {
        success: true,
        deleted: id.to_string(),
    }))
}
