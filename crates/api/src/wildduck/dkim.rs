//! `/dkim`: DKIM signing keys, one per domain, as WildDuck's API has them (list, create or
//! replace, get, delete, resolve a domain to its key id). Answers never include the private
//! key. `algorithm` on `POST /dkim` (`rsa`, the default, or `ed25519`) is a Sealpost
//! addition: what to generate when no `privateKey` is given.

use super::AppState;
use super::de::query_str;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs};
use super::paging::{PageArgs, cursors};
use super::shape::{CursorOrFalse, Success, iso_date};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sealpost_core::dkim::{DkimKeyId, DkimKeyInfo, KeyAlgorithm, NewDkimKey};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_dkim, set_dkim))
        .routes(routes!(resolve_dkim))
        .routes(routes!(get_dkim, delete_dkim))
}

/// The DNS TXT record to publish for a key.
#[derive(Debug, Serialize, ToSchema)]
pub struct DnsTxt {
    /// `<selector>._domainkey.<domain>`.
    #[schema(example = "dec20._domainkey.example.com")]
    pub name: String,
    #[schema(example = "v=DKIM1;t=s;p=MIGfMA0...")]
    pub value: String,
}

/// One key in full (`POST /dkim`, `GET /dkim/{dkim}`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DkimKey {
    pub success: bool,
    #[schema(example = "59ef21aef255ed1d9d790e81")]
    pub id: String,
    #[schema(example = "example.com")]
    pub domain: String,
    #[schema(example = "oct17")]
    pub selector: String,
    pub description: String,
    #[schema(example = "6a:aa:d7:ba:e4:99:b4:12:e0:f3:35:01:71:d4:f1:d6:b4:95:c4:f5")]
    pub fingerprint: String,
    /// The public key, PEM.
    pub public_key: String,
    pub dns_txt: DnsTxt,
    /// Only on `GET /dkim/{dkim}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl DkimKey {
    fn from_info(k: DkimKeyInfo, with_created: bool) -> DkimKey {
        DkimKey {
            success: true,
            id: k.id.to_string(),
            domain: k.domain,
            selector: k.selector,
            description: k.description,
            fingerprint: k.fingerprint,
            public_key: k.public_key,
            dns_txt: DnsTxt {
                name: k.dns_name,
                value: k.dns_value,
            },
            created: with_created.then(|| iso_date(k.created)),
        }
    }
}

/// One key in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct DkimListItem {
    pub id: String,
    pub domain: String,
    pub selector: String,
    pub description: String,
    pub fingerprint: String,
    pub created: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DkimList {
    pub success: bool,
    /// The `query` argument, echoed ("" when none).
    pub query: String,
    pub total: i64,
    pub page: u32,
    pub previous_cursor: CursorOrFalse,
    pub next_cursor: CursorOrFalse,
    pub results: Vec<DkimListItem>,
}

/// `{"success": true, "id": "..."}` of `/dkim/resolve/{domain}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Resolved {
    pub success: bool,
    #[schema(example = "609d201236d1d936948f23b1")]
    pub id: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DkimQuery {
    /// Partial match of a domain name.
    pub query: Option<String>,
}

/// `POST /dkim`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct SetDkimRequest {
    /// The domain the key signs for; `*` for local domains without a key of their own.
    #[schema(required = true, example = "example.com")]
    pub domain: Option<String>,
    #[schema(required = true, example = "oct17")]
    pub selector: Option<String>,
    /// PEM (RSA or Ed25519), or a raw Ed25519 key in base64; generated when not set.
    pub private_key: Option<String>,
    pub description: Option<String>,
    /// What to generate without `privateKey`: `rsa` (2048 bits, default) or `ed25519`.
    pub algorithm: Option<String>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

fn dkim_id(path: &PathArgs) -> ApiResult<DkimKeyId> {
    Ok(DkimKeyId(path.id("dkim")?))
}

/// WildDuck answers an unknown key or domain with `DkimNotFound`.
fn dkim_error(e: sealpost_core::Error) -> ApiError {
    match e {
        sealpost_core::Error::NotFound(message) => {
            ApiError::new(StatusCode::NOT_FOUND, "DkimNotFound", message)
        }
        other => other.into(),
    }
}

/// List registered DKIM keys.
#[utoipa::path(
    get,
    path = "/dkim",
    tag = "DKIM",
    params(DkimQuery, PageArgs),
    responses(
        (status = 200, description = "One page of keys, by domain", body = DkimList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
    )
)]
async fn list_dkim(
    State(s): State<AppState>,
    QueryArgs(q): QueryArgs<DkimQuery>,
    QueryArgs(p): QueryArgs<PageArgs>,
) -> ApiResult<Json<DkimList>> {
    let paging = p.paging()?;
    let query = query_str(&q.query).map(str::to_string);
    let page = s
        .core
        .list_dkim_keys(query.as_deref(), &paging.request)
        .await?;
    let (previous_cursor, next_cursor) = cursors(&page);
    Ok(Json(DkimList {
        success: true,
        query: query.unwrap_or_default(),
        total: page.total,
        page: paging.page,
        previous_cursor,
        next_cursor,
        results: page
            .results
            .into_iter()
            .map(|k| DkimListItem {
                id: k.id.to_string(),
                domain: k.domain,
                selector: k.selector,
                description: k.description,
                fingerprint: k.fingerprint,
                created: iso_date(k.created),
            })
            .collect(),
    }))
}

/// Create or update the DKIM key of a domain (one per domain).
#[utoipa::path(
    post,
    path = "/dkim",
    tag = "DKIM",
    request_body = SetDkimRequest,
    responses(
        (status = 200, description = "The key", body = DkimKey),
        (status = 400, description = "Invalid input or key", body = ErrorBody),
    )
)]
async fn set_dkim(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<SetDkimRequest>,
) -> ApiResult<Json<DkimKey>> {
    let domain = body
        .domain
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("domain", "\"domain\" is required"))?;
    let selector = body
        .selector
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("selector", "\"selector\" is required"))?;
    let algorithm = match body.algorithm.as_deref().filter(|a| !a.trim().is_empty()) {
        None => None,
        Some(a) => Some(KeyAlgorithm::parse(a).ok_or_else(|| {
            ApiError::invalid("algorithm", "\"algorithm\" must be rsa or ed25519")
        })?),
    };
    let key = s
        .core
        .set_dkim_key(NewDkimKey {
            domain,
            selector,
            description: body.description,
            private_key: body.private_key,
            algorithm,
        })
        .await?;
    Ok(Json(DkimKey::from_info(key, false)))
}

/// Resolve the id of a domain's DKIM key.
#[utoipa::path(
    get,
    path = "/dkim/resolve/{domain}",
    tag = "DKIM",
    params(("domain" = String, Path, description = "DKIM domain")),
    responses(
        (status = 200, description = "The key's id", body = Resolved),
        (status = 404, description = "No key for this domain", body = ErrorBody),
    )
)]
async fn resolve_dkim(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<Resolved>> {
    let domain = path.str("domain")?;
    let id = s.core.resolve_dkim(domain).await.map_err(dkim_error)?;
    Ok(Json(Resolved {
        success: true,
        id: id.to_string(),
    }))
}

/// Request DKIM information.
#[utoipa::path(
    get,
    path = "/dkim/{dkim}",
    tag = "DKIM",
    params(("dkim" = String, Path, description = "ID of the DKIM key (24 hex)")),
    responses(
        (status = 200, description = "The key", body = DkimKey),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
    )
)]
async fn get_dkim(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<DkimKey>> {
    let id = dkim_id(&path)?;
    let key = s.core.dkim_key(&id).await.map_err(dkim_error)?;
    Ok(Json(DkimKey::from_info(key, true)))
}

/// Delete a DKIM key.
#[utoipa::path(
    delete,
    path = "/dkim/{dkim}",
    tag = "DKIM",
    params(("dkim" = String, Path, description = "ID of the DKIM key (24 hex)")),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
    )
)]
async fn delete_dkim(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<Success>> {
    let id = dkim_id(&path)?;
    s.core.delete_dkim_key(&id).await.map_err(dkim_error)?;
    Ok(Success::ok())
}
