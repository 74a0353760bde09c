//! `/users`: listing, reading, creating, updating and deleting user accounts.

use super::AppState;
use super::de::{self, HashedPassword};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs};
use super::paging::{PageArgs, cursors};
use super::shape::{Created, CursorOrFalse, IntOrFalse, Success};
use axum::Json;
use axum::extract::State;
use sealpost_core::{NewUser, UserQuery, UserRecord, UserUpdate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
}

// ---- shapes ----

/// Storage quota: bytes allowed and used.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaInfo {
    #[schema(example = 107374182400i64)]
    pub allowed: i64,
    #[schema(example = 289838)]
    pub used: i64,
}

impl From<&UserRecord> for QuotaInfo {
    fn from(u: &UserRecord) -> Self {
        QuotaInfo {
            allowed: u.quota_allowed,
            used: u.storage_used,
        }
    }
}

/// A 24 h rate limit (recipients, forwards), both counted by Sealpost: `recipients` at
/// submission, `forwards` at delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateLimit {
    #[schema(example = 2000)]
    pub allowed: i64,
    pub used: i64,
    /// Seconds until the window resets, `false` when not counting.
    pub ttl: IntOrFalse,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserLimits {
    pub quota: QuotaInfo,
    pub recipients: RateLimit,
    pub forwards: RateLimit,
}

/// One user in a listing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserListItem {
    #[schema(example = "59fc66a03e54454869460e45")]
    pub id: String,
    #[schema(example = "testuser01")]
    pub username: String,
    pub name: Option<String>,
    /// Main address.
    pub address: Option<String>,
    pub tags: Vec<String>,
    pub encrypt_messages: bool,
    pub encrypt_forwarded: bool,
    pub quota: QuotaInfo,
    pub has_password_set: bool,
    pub activated: bool,
    pub disabled: bool,
    pub suspended: bool,
}

impl From<UserRecord> for UserListItem {
    fn from(u: UserRecord) -> Self {
        let quota = QuotaInfo::from(&u);
        UserListItem {
            id: u.id.to_string(),
            username: u.username,
            name: u.name,
            address: u.address,
            tags: u.tags,
            encrypt_messages: u.encrypt_messages,
            encrypt_forwarded: u.encrypt_forwarded,
            quota,
            has_password_set: u.has_password,
            activated: u.activated,
            disabled: u.disabled,
            suspended: u.suspended,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    pub success: bool,
    /// The `query` argument, echoed ("" when none).
    pub query: String,
    pub total: i64,
    pub page: u32,
    pub previous_cursor: CursorOrFalse,
    pub next_cursor: CursorOrFalse,
    pub results: Vec<UserListItem>,
}

/// One user in full.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub success: bool,
    #[schema(example = "59fc66a03e54454869460e45")]
    pub id: String,
    pub username: String,
    pub name: Option<String>,
    pub address: Option<String>,
    pub language: Option<String>,
    /// Default retention of new mailboxes in ms, `false` when messages are kept forever.
    pub retention: IntOrFalse,
    /// Enabled 2FA methods.
    pub enabled2fa: Vec<String>,
    pub encrypt_messages: bool,
    pub encrypt_forwarded: bool,
    pub pub_key: String,
    /// Details of the public key (`name`, `address`, `fingerprint`), `false` when there is
    /// none.
    #[schema(value_type = Object, example = false)]
    #[serde(serialize_with = "key_info_or_false")]
    pub key_info: Option<KeyInfo>,
    pub limits: UserLimits,
    pub tags: Vec<String>,
    /// Services the user may not log in to.
    #[schema(example = json!(["pop3"]))]
    pub disabled_scopes: Vec<String>,
    /// More addresses the user may send mail from (`*` is a wildcard).
    #[schema(example = json!(["*@example.com"]))]
    pub from_whitelist: Vec<String>,
    pub has_password_set: bool,
    pub activated: bool,
    pub disabled: bool,
    pub suspended: bool,
}

/// `keyInfo` of a user's `pubKey`.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyInfo {
    pub name: Option<String>,
    pub address: Option<String>,
    /// Primary key fingerprint, lowercase hex.
    pub fingerprint: String,
}

fn key_info_or_false<S: serde::Serializer>(v: &Option<KeyInfo>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(k) => k.serialize(s),
        None => s.serialize_bool(false),
    }
}

impl From<UserRecord> for UserInfo {
    fn from(u: UserRecord) -> Self {
        let quota = QuotaInfo::from(&u);
        UserInfo {
            success: true,
            id: u.id.to_string(),
            username: u.username,
            name: u.name,
            address: u.address,
            language: u.language,
            retention: IntOrFalse::nonzero(u.retention),
            enabled2fa: Vec::new(),
            encrypt_messages: u.encrypt_messages,
            encrypt_forwarded: u.encrypt_forwarded,
            pub_key: u.pub_key,
            key_info: None,
            limits: UserLimits {
                quota,
                recipients: RateLimit {
                    allowed: u.recipients,
                    used: 0,
                    ttl: IntOrFalse(None),
                },
                forwards: RateLimit {
                    allowed: u.forwards,
                    used: 0,
                    ttl: IntOrFalse(None),
                },
            },
            tags: u.tags,
            disabled_scopes: u.disabled_scopes,
            from_whitelist: u.from_whitelist,
            has_password_set: u.has_password,
            activated: u.activated,
            disabled: u.disabled,
            suspended: u.suspended,
        }
    }
}

// ---- requests ----

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct UsersQuery {
    /// Partial match on the username.
    pub query: Option<String>,
    /// Comma separated tags; a user needs at least one of them.
    pub tags: Option<String>,
    /// Comma separated tags; a user needs all of them.
    pub required_tags: Option<String>,
}

/// `POST /users`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct CreateUserRequest {
    /// Login name: letters, numbers, dots.
    #[schema(required = true, example = "testuser")]
    pub username: Option<String>,
    /// The password, or `false` for an account without one.
    #[serde(deserialize_with = "de::opt_password")]
    #[schema(value_type = Option<String>, required = true, example = "secretpass")]
    pub password: Option<Option<String>>,
    /// `true` when `password` is already a hash (argon2, bcrypt, ...), or the hash itself.
    #[serde(deserialize_with = "de::opt_hashed_password")]
    #[schema(value_type = Option<bool>)]
    pub hashed_password: Option<HashedPassword>,
    /// Main address; generated from the username when not set.
    pub address: Option<String>,
    /// Do not create any address.
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub empty_address: Option<bool>,
    pub name: Option<String>,
    /// Storage quota in bytes.
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub quota: Option<i64>,
    /// Default retention of mailboxes in ms (0 = forever).
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub retention: Option<i64>,
    pub language: Option<String>,
    /// Recipients allowed per 24 h.
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub recipients: Option<i64>,
    /// Forwards allowed per 24 h.
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub forwards: Option<i64>,
    /// Array of tags, or one comma separated string.
    #[serde(deserialize_with = "de::opt_tags")]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Option<Vec<String>>,
    /// OpenPGP public key (armored).
    pub pub_key: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub encrypt_messages: Option<bool>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub encrypt_forwarded: Option<bool>,
    /// Services the user may not log in to: `imap`, `pop3`, `smtp`.
    pub disabled_scopes: Option<Vec<String>>,
    /// More addresses the user may send mail from; `*` is a wildcard.
    pub from_whitelist: Option<Vec<String>>,
    /// Session id for the security log.
    pub sess: Option<String>,
    /// Client IP for the security log.
    pub ip: Option<String>,
}

impl CreateUserRequest {
    pub fn into_new_user(self) -> ApiResult<NewUser> {
        let username = self
            .username
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| ApiError::invalid("username", "\"username\" is required"))?;
        let (password, hashed_password) = match (self.password, self.hashed_password) {
            (_, Some(HashedPassword::Hash(hash))) => (None, Some(hash)),
            (Some(Some(hash)), Some(HashedPassword::Flag(true))) => (None, Some(hash)),
            (Some(password), _) => (password, None),
            (None, _) => return Err(ApiError::invalid("password", "\"password\" is required")),
        };
        Ok(NewUser {
            username,
            password,
            hashed_password,
            address: self.address.filter(|a| !a.trim().is_empty()),
            empty_address: self.empty_address.unwrap_or(false),
            name: self.name.filter(|n| !n.is_empty()),
            quota: self.quota,
            retention: self.retention,
            language: self.language.filter(|l| !l.is_empty()),
            recipients: self.recipients,
            forwards: self.forwards,
            tags: self.tags.unwrap_or_default(),
            pub_key: self.pub_key.filter(|k| !k.trim().is_empty()),
            encrypt_messages: self.encrypt_messages.unwrap_or(false),
            encrypt_forwarded: self.encrypt_forwarded.unwrap_or(false),
            disabled_scopes: self.disabled_scopes.unwrap_or_default(),
            from_whitelist: self.from_whitelist.unwrap_or_default(),
        })
    }
}

/// `PUT /users/{user}`: only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct UpdateUserRequest {
    /// New name; `null` or `""` clears it.
    #[serde(deserialize_with = "de::opt_nullable_string")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// New password (`false` or `""`: unchanged).
    #[serde(deserialize_with = "de::opt_password")]
    #[schema(value_type = Option<String>)]
    pub password: Option<Option<String>>,
    /// Not supported for updates; only `false` is accepted.
    #[serde(deserialize_with = "de::opt_hashed_password")]
    #[schema(value_type = Option<bool>)]
    pub hashed_password: Option<HashedPassword>,
    /// Current password, checked before anything changes when given.
    pub existing_password: Option<String>,
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub quota: Option<i64>,
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub retention: Option<i64>,
    pub language: Option<String>,
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub recipients: Option<i64>,
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub forwards: Option<i64>,
    #[serde(deserialize_with = "de::opt_tags")]
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Option<Vec<String>>,
    /// New public key; `""` removes it.
    pub pub_key: Option<String>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub encrypt_messages: Option<bool>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub encrypt_forwarded: Option<bool>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub disabled: Option<bool>,
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub suspended: Option<bool>,
    /// Replaces the list of services the user may not log in to (`[]` enables all).
    pub disabled_scopes: Option<Vec<String>>,
    /// Replaces the addresses the user may send mail from besides its own (`[]`: none).
    pub from_whitelist: Option<Vec<String>>,
    pub sess: Option<String>,
    pub ip: Option<String>,
}

impl UpdateUserRequest {
    pub fn into_update(self) -> ApiResult<UserUpdate> {
        if let Some(HashedPassword::Flag(true) | HashedPassword::Hash(_)) = self.hashed_password {
            return Err(ApiError::invalid(
                "hashedPassword",
                "\"hashedPassword\" is not supported when updating a user; set a plain password",
            ));
        }
        Ok(UserUpdate {
            name: self.name,
            password: self.password.flatten(),
            existing_password: self.existing_password,
            quota: self.quota,
            retention: self.retention,
            language: self.language,
            recipients: self.recipients,
            forwards: self.forwards,
            tags: self.tags,
            pub_key: self.pub_key,
            encrypt_messages: self.encrypt_messages,
            encrypt_forwarded: self.encrypt_forwarded,
            disabled: self.disabled,
            suspended: self.suspended,
            disabled_scopes: self.disabled_scopes,
            from_whitelist: self.from_whitelist,
            meta: sealpost_core::AuthMeta::new("API", self.sess, self.ip),
        })
    }
}

// ---- handlers ----

/// Search and list users.
#[utoipa::path(
    get,
    path = "/users",
    tag = "Users",
    params(UsersQuery, PageArgs),
    responses(
        (status = 200, description = "One page of users", body = UserList),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
    )
)]
async fn list_users(
    State(s): State<AppState>,
    QueryArgs(q): QueryArgs<UsersQuery>,
    QueryArgs(p): QueryArgs<PageArgs>,
) -> ApiResult<Json<UserList>> {
    let paging = p.paging()?;
    let query = de::query_str(&q.query).map(str::to_string);
    let filter = UserQuery {
        query: query.clone(),
        tags: q.tags.as_deref().map(de::split_tags).unwrap_or_default(),
        required_tags: q
            .required_tags
            .as_deref()
            .map(de::split_tags)
            .unwrap_or_default(),
    };
    let page = s.core.list_users(&filter, &paging.request).await?;
    let (previous_cursor, next_cursor) = cursors(&page);
    Ok(Json(UserList {
        success: true,
        query: query.unwrap_or_default(),
        total: page.total,
        page: paging.page,
        previous_cursor,
        next_cursor,
        results: page.results.into_iter().map(UserListItem::from).collect(),
    }))
}

/// Create a user.
#[utoipa::path(
    post,
    path = "/users",
    tag = "Users",
    request_body = CreateUserRequest,
    responses(
        (status = 200, description = "The user was created", body = Created),
        (status = 400, description = "Invalid input, or the username or address is taken", body = ErrorBody),
    )
)]
async fn create_user(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<CreateUserRequest>,
) -> ApiResult<Json<Created>> {
    let id = s.core.create_user(body.into_new_user()?).await?;
    Ok(Created::id(id))
}

/// Get one user.
#[utoipa::path(
    get,
    path = "/users/{user}",
    tag = "Users",
    params(("user" = String, Path, description = "User id (24 hex)")),
    responses(
        (status = 200, description = "The user", body = UserInfo),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn get_user(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<UserInfo>> {
    let user = path.id("user")?;
    let mut info = UserInfo::from(s.core.get_user(&user).await?);
    // Both counted by us: forwards at delivery, recipients at submission.
    let recipients = s.core.recipient_limit(&user).await?;
    info.limits.recipients.used = recipients.used;
    info.limits.recipients.ttl = IntOrFalse(
        recipients
            .resets
            .map(|t| ((t - chrono::Utc::now().timestamp_millis()) / 1000).max(1)),
    );
    let forwards = s.core.forward_limit(&user).await?;
    info.limits.forwards.used = forwards.used;
    info.limits.forwards.ttl = IntOrFalse(
        forwards
            .resets
            .map(|t| ((t - chrono::Utc::now().timestamp_millis()) / 1000).max(1)),
    );
    info.enabled2fa = s.core.enabled_2fa(&user).await?;
    info.key_info = s.core.pub_key_info(&info.pub_key).await.map(|k| KeyInfo {
        name: k.name,
        address: k.address,
        fingerprint: k.fingerprint,
    });
    Ok(Json(info))
}

/// Update a user; only the fields given change.
#[utoipa::path(
    put,
    path = "/users/{user}",
    tag = "Users",
    params(("user" = String, Path, description = "User id (24 hex)")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Updated", body = Success),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "`existingPassword` did not match", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn update_user(
    State(s): State<AppState>,
    path: PathArgs,
    JsonBody(body): JsonBody<UpdateUserRequest>,
) -> ApiResult<Json<Success>> {
    let user = path.id("user")?;
    s.core.update_user(&user, body.into_update()?).await?;
    Ok(Success::ok())
}

/// Delete a user and its data.
#[utoipa::path(
    delete,
    path = "/users/{user}",
    tag = "Users",
    params(("user" = String, Path, description = "User id (24 hex)")),
    responses(
        (status = 200, description = "Deleted", body = Success),
        (status = 400, description = "Invalid id", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn delete_user(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<Success>> {
    let user = path.id("user")?;
    s.core.delete_user(&user).await?;
    Ok(Success::ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wildduck::extract::parse_json;
    use sealpost_core::ObjectId;
    use serde_json::json;

    fn record() -> UserRecord {
        UserRecord {
            id: ObjectId::parse("59fc66a03e54454869460e45").unwrap(),
            username: "testuser01".into(),
            name: None,
            address: Some("testuser01@example.com".into()),
            language: None,
            quota_allowed: 107374182400,
            storage_used: 289838,
            retention: 0,
            recipients: 2000,
            forwards: 2000,
            tags: vec!["green".into(), "blue".into()],
            encrypt_messages: false,
            encrypt_forwarded: false,
            pub_key: String::new(),
            has_password: true,
            activated: true,
            disabled: false,
            suspended: false,
            require_password_change: false,
            created: 0,
            disabled_scopes: vec!["pop3".into()],
            from_whitelist: vec!["*@example.org".into()],
        }
    }

    #[test]
    fn user_info_shape() {
        let v = serde_json::to_value(UserInfo::from(record())).unwrap();
        assert_eq!(
            v,
            json!({
                "success": true,
                "id": "59fc66a03e54454869460e45",
                "username": "testuser01",
                "name": null,
                "address": "testuser01@example.com",
                "language": null,
                "retention": false,
                "enabled2fa": [],
                "encryptMessages": false,
                "encryptForwarded": false,
                "pubKey": "",
                "keyInfo": false,
                "limits": {
                    "quota": {"allowed": 107374182400i64, "used": 289838},
                    "recipients": {"allowed": 2000, "used": 0, "ttl": false},
                    "forwards": {"allowed": 2000, "used": 0, "ttl": false}
                },
                "tags": ["green", "blue"],
                "disabledScopes": ["pop3"],
                "fromWhitelist": ["*@example.org"],
                "hasPasswordSet": true,
                "activated": true,
                "disabled": false,
                "suspended": false
            })
        );
        let mut r = record();
        r.retention = 86_400_000;
        assert_eq!(
            serde_json::to_value(UserInfo::from(r)).unwrap()["retention"],
            86_400_000
        );
    }

    #[test]
    fn list_item_shape() {
        let v = serde_json::to_value(UserListItem::from(record())).unwrap();
        assert_eq!(
            v,
            json!({
                "id": "59fc66a03e54454869460e45",
                "username": "testuser01",
                "name": null,
                "address": "testuser01@example.com",
                "tags": ["green", "blue"],
                "encryptMessages": false,
                "encryptForwarded": false,
                "quota": {"allowed": 107374182400i64, "used": 289838},
                "hasPasswordSet": true,
                "activated": true,
                "disabled": false,
                "suspended": false
            })
        );
    }

    fn new_user(v: serde_json::Value) -> ApiResult<NewUser> {
        parse_json::<CreateUserRequest>(v.to_string().as_bytes())?.into_new_user()
    }

    #[test]
    fn create_user_input() {
        let u = new_user(json!({
            "username": "testuser", "password": "secretpass", "address": "testuser@example.com",
            "quota": "1024", "tags": "a,b", "encryptMessages": "true", "ip": "192.168.10.10"
        }))
        .unwrap();
        assert_eq!(u.username, "testuser");
        assert_eq!(u.password.as_deref(), Some("secretpass"));
        assert_eq!(u.hashed_password, None);
        assert_eq!(u.quota, Some(1024));
        assert_eq!(u.tags, vec!["a", "b"]);
        assert!(u.encrypt_messages);

        let u = new_user(json!({"username": "x", "password": false})).unwrap();
        assert_eq!((u.password, u.hashed_password), (None, None));

        let u =
            new_user(json!({"username": "x", "password": "$2b$10$abc", "hashedPassword": true}))
                .unwrap();
        assert_eq!(
            (u.password, u.hashed_password.as_deref()),
            (None, Some("$2b$10$abc"))
        );

        let u = new_user(json!({"username": "x", "hashedPassword": "$argon2id$v=19$abc"})).unwrap();
        assert_eq!(u.hashed_password.as_deref(), Some("$argon2id$v=19$abc"));

        let e = new_user(json!({"password": "x"})).unwrap_err();
        assert!(e.details.unwrap().contains_key("username"));
        let e = new_user(json!({"username": "x"})).unwrap_err();
        assert!(e.details.unwrap().contains_key("password"));
        let e = new_user(json!({"username": "x", "password": "y", "quota": -1})).unwrap_err();
        assert!(e.details.unwrap().contains_key("quota"));
    }

    #[test]
    fn update_user_input() {
        let u = parse_json::<UpdateUserRequest>(
            br#"{"name": null, "quota": 1024, "disabled": "true"}"#,
        )
        .unwrap()
        .into_update()
        .unwrap();
        assert_eq!(u.name, Some(None));
        assert_eq!(u.quota, Some(1024));
        assert_eq!(u.disabled, Some(true));
        assert_eq!(u.password, None);
        let u =
            parse_json::<UpdateUserRequest>(br#"{"password": "new", "existingPassword": "old"}"#)
                .unwrap()
                .into_update()
                .unwrap();
        assert_eq!(
            (u.password.as_deref(), u.existing_password.as_deref()),
            (Some("new"), Some("old"))
        );
        assert!(
            parse_json::<UpdateUserRequest>(br#"{"hashedPassword": true}"#)
                .unwrap()
                .into_update()
                .is_err()
        );
    }
}
