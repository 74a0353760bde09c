//! `/users`: listing, reading, creating, updating and deleting user accounts.

use super::AppState;
use super::de::{self, HashedPassword};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{JsonBody, PathArgs, QueryArgs};
use super::paging::{PageArgs, cursors};
use super::shape::{Created, CursorOrFalse, Success};
use axum::Json;
use axum::extract::State;
use sealpost_core::{
    NewUser, ProfileUpdate, SpecialMailboxNames, UserProfile, UserQuery, UserRecord, UserUpdate,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(resolve_user))
        .routes(routes!(restore_info, restore_user))
}

type JsonObject = serde_json::Map<String, serde_json::Value>;

/// `metaData` / `internalData`: an object, or a string holding a JSON object (`null`: absent).
fn opt_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<JsonObject>, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Object(m) => Ok(Some(m)),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(Some(JsonObject::new())),
        serde_json::Value::String(s) => match serde_json::from_str(&s) {
            Ok(serde_json::Value::Object(m)) => Ok(Some(m)),
            _ => Err(D::Error::custom(
                "must be an object or a JSON formatted string of an object",
            )),
        },
        _ => Err(D::Error::custom(
            "must be an object or a JSON formatted string of an object",
        )),
    }
}

/// `mtaRelay`: a URL, or `""`/`false`/`null` to clear.
fn opt_relay<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null | serde_json::Value::Bool(false) => Ok(Some(None)),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(Some(None)),
        serde_json::Value::String(s) => Ok(Some(Some(s.trim().to_string()))),
        _ => Err(D::Error::custom("must be a string")),
    }
}

/// The settings of today's WildDuck kept in the user's profile, as `POST` and `PUT
/// /users` take them.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ProfileFields {
    /// Forwarding targets: addresses or `http(s)://` URLs the message is POSTed to.
    #[schema(example = json!(["user@example.com"]))]
    pub targets: Option<Vec<String>>,
    /// Outbound SMTP relay URL (stored and shown; mail leaves through the server's relay).
    #[serde(deserialize_with = "opt_relay")]
    #[schema(value_type = Option<String>)]
    pub mta_relay: Option<Option<String>>,
    /// 0 = everything is spam, 100 = nothing is (default 50: the MTA's verdict).
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 100)]
    pub spam_level: Option<i64>,
    /// Filters allowed (0: the server's default).
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub filters: Option<i64>,
    /// Bytes a day that may be uploaded over IMAP (stored and shown, not enforced).
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub imap_max_upload: Option<i64>,
    /// Bytes a day that may be downloaded over IMAP (stored and shown, not enforced).
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub imap_max_download: Option<i64>,
    /// Parallel IMAP connections (stored and shown; the server's per-user limit applies).
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub imap_max_connections: Option<i64>,
    /// Bytes a day that may be downloaded over POP3 (stored and shown, not enforced).
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub pop3_max_download: Option<i64>,
    /// How many of the newest messages a POP3 session lists (stored and shown).
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub pop3_max_messages: Option<i64>,
    /// Messages a minute the user may receive (stored and shown, not enforced).
    #[serde(deserialize_with = "de::opt_count")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub received_max: Option<i64>,
    /// Passwords are never checked against breach lists here; stored and shown.
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub allow_unsafe: Option<bool>,
    /// Stored and shown; submission always keeps a copy in Sent here.
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub upload_sent_messages: Option<bool>,
    /// The client's own object (or JSON string of one), returned as given.
    #[serde(deserialize_with = "opt_object")]
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<JsonObject>,
    /// Like `metaData`, for internal use.
    #[serde(deserialize_with = "opt_object")]
    #[schema(value_type = Option<Object>)]
    pub internal_data: Option<JsonObject>,
}

impl ProfileFields {
    fn into_update(self) -> ProfileUpdate {
        ProfileUpdate {
            targets: self.targets,
            spam_level: self.spam_level,
            filters: self.filters,
            imap_max_upload: self.imap_max_upload,
            imap_max_download: self.imap_max_download,
            imap_max_connections: self.imap_max_connections,
            pop3_max_download: self.pop3_max_download,
            pop3_max_messages: self.pop3_max_messages,
            received_max: self.received_max,
            allow_unsafe: self.allow_unsafe,
            upload_sent_messages: self.upload_sent_messages,
            mta_relay: self.mta_relay,
            meta_data: self.meta_data,
            internal_data: self.internal_data,
        }
    }
}

/// `mailboxes` at creation: names of the special mailboxes instead of the localised ones.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(default)]
pub struct MailboxNames {
    pub sent: Option<String>,
    pub trash: Option<String>,
    pub junk: Option<String>,
    pub drafts: Option<String>,
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

/// A rate limit over a window (recipients and forwards a day, received a minute).
#[derive(Debug, Serialize, ToSchema)]
pub struct RateLimit {
    #[schema(example = 2000)]
    pub allowed: i64,
    pub used: i64,
    /// Seconds until the window resets, 0 when not counting.
    pub ttl: i64,
}

impl RateLimit {
    fn allowed(allowed: i64) -> Self {
        RateLimit {
            allowed,
            used: 0,
            ttl: 0,
        }
    }
}

/// A limit with a count and no window (filters, IMAP connections).
#[derive(Debug, Serialize, ToSchema)]
pub struct CountLimit {
    pub allowed: i64,
    pub used: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserLimits {
    pub quota: QuotaInfo,
    pub recipients: RateLimit,
    pub filters: CountLimit,
    pub forwards: RateLimit,
    pub received: RateLimit,
    pub imap_upload: RateLimit,
    pub imap_download: RateLimit,
    pub pop3_download: RateLimit,
    pub imap_max_connections: CountLimit,
}

/// One user in a listing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserListItem {
    #[schema(example = "59fc66a03e54454869460e45")]
    pub id: String,
    #[schema(example = "testuser01")]
    pub username: String,
    /// `""` when not set.
    pub name: String,
    /// Main address.
    pub address: Option<String>,
    pub tags: Vec<String>,
    /// Forwarding targets.
    pub targets: Vec<String>,
    /// Enabled 2FA methods.
    pub enabled2fa: Vec<String>,
    /// Whether an autoreply is switched on.
    pub autoreply: bool,
    pub encrypt_messages: bool,
    pub encrypt_forwarded: bool,
    pub quota: QuotaInfo,
    /// With `metaData=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta_data: Option<JsonObject>,
    /// With `internalData=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub internal_data: Option<JsonObject>,
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
            name: u.name.unwrap_or_default(),
            address: u.address,
            tags: u.tags,
            targets: u.profile.targets,
            enabled2fa: Vec::new(),
            autoreply: false,
            encrypt_messages: u.encrypt_messages,
            encrypt_forwarded: u.encrypt_forwarded,
            quota,
            meta_data: None,
            internal_data: None,
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
    /// `""` when not set.
    pub name: String,
    pub address: Option<String>,
    pub language: Option<String>,
    /// Default retention of new mailboxes in ms; absent when messages are kept forever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<i64>,
    /// Enabled 2FA methods.
    pub enabled2fa: Vec<String>,
    /// Whether an autoreply is switched on.
    pub autoreply: bool,
    pub encrypt_messages: bool,
    pub encrypt_forwarded: bool,
    pub pub_key: String,
    /// Details of the public key (`name`, `address`, `fingerprint`), `false` when there is
    /// none.
    #[schema(value_type = Object, example = false)]
    #[serde(serialize_with = "key_info_or_false")]
    pub key_info: Option<KeyInfo>,
    #[schema(value_type = Object)]
    pub meta_data: JsonObject,
    #[schema(value_type = Object)]
    pub internal_data: JsonObject,
    /// Forwarding targets.
    pub targets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mta_relay: Option<String>,
    pub spam_level: i64,
    pub limits: UserLimits,
    pub tags: Vec<String>,
    /// Services the user may not log in to.
    #[schema(example = json!(["pop3"]))]
    pub disabled_scopes: Vec<String>,
    /// More addresses the user may send mail from (`*` is a wildcard).
    #[schema(example = json!(["*@example.com"]))]
    pub from_whitelist: Vec<String>,
    pub require_password_change: bool,
    pub allow_unsafe: bool,
    pub upload_sent_messages: bool,
    pub pop3_max_messages: i64,
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
        let p: UserProfile = u.profile;
        let filters_allowed = sealpost_core::filters::filter_limit(&p);
        UserInfo {
            success: true,
            id: u.id.to_string(),
            username: u.username,
            name: u.name.unwrap_or_default(),
            address: u.address,
            language: u.language,
            retention: (u.retention > 0).then_some(u.retention),
            enabled2fa: Vec::new(),
            autoreply: false,
            encrypt_messages: u.encrypt_messages,
            encrypt_forwarded: u.encrypt_forwarded,
            pub_key: u.pub_key,
            key_info: None,
            meta_data: p.meta_data,
            internal_data: p.internal_data,
            targets: p.targets,
            mta_relay: p.mta_relay,
            spam_level: p.spam_level,
            limits: UserLimits {
                quota,
                recipients: RateLimit::allowed(u.recipients),
                filters: CountLimit {
                    allowed: filters_allowed,
                    used: 0,
                },
                forwards: RateLimit::allowed(u.forwards),
                received: RateLimit::allowed(p.received_max),
                imap_upload: RateLimit::allowed(p.imap_max_upload),
                imap_download: RateLimit::allowed(p.imap_max_download),
                pop3_download: RateLimit::allowed(p.pop3_max_download),
                imap_max_connections: CountLimit {
                    allowed: p.imap_max_connections,
                    used: 0,
                },
            },
            tags: u.tags,
            disabled_scopes: u.disabled_scopes,
            from_whitelist: u.from_whitelist,
            require_password_change: u.require_password_change,
            allow_unsafe: p.allow_unsafe,
            upload_sent_messages: p.upload_sent_messages,
            pop3_max_messages: p.pop3_max_messages,
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
    /// Include each user's `metaData`.
    pub meta_data: Option<String>,
    /// Include each user's `internalData`.
    pub internal_data: Option<String>,
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
    /// The user must change the password at the next opportunity.
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub require_password_change: Option<bool>,
    /// Names of the special mailboxes instead of the localised defaults.
    pub mailboxes: Option<MailboxNames>,
    #[serde(flatten)]
    pub profile: ProfileFields,
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
            require_password_change: self.require_password_change.unwrap_or(false),
            profile: self.profile.into_update().apply(UserProfile::default()),
            mailbox_names: self
                .mailboxes
                .map(|m| SpecialMailboxNames {
                    sent: m.sent,
                    trash: m.trash,
                    junk: m.junk,
                    drafts: m.drafts,
                })
                .unwrap_or_default(),
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
    #[serde(deserialize_with = "de::opt_bool")]
    #[schema(value_type = Option<bool>)]
    pub require_password_change: Option<bool>,
    #[serde(flatten)]
    pub profile: ProfileFields,
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
            require_password_change: self.require_password_change,
            profile: self.profile.into_update(),
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
    let with_meta = de::query_bool("metaData", q.meta_data.as_deref())?.unwrap_or(false);
    let with_internal =
        de::query_bool("internalData", q.internal_data.as_deref())?.unwrap_or(false);
    let page = s.core.list_users(&filter, &paging.request).await?;
    let (previous_cursor, next_cursor) = cursors(&page);
    let mut results = Vec::with_capacity(page.results.len());
    for u in page.results {
        let (meta, internal) = (u.profile.meta_data.clone(), u.profile.internal_data.clone());
        let id = u.id.clone();
        let enabled2fa = s.core.enabled_2fa(&u).await?;
        let mut item = UserListItem::from(u);
        item.enabled2fa = enabled2fa;
        item.autoreply = s.core.get_autoreply(&id).await?.status;
        item.meta_data = with_meta.then_some(meta);
        item.internal_data = with_internal.then_some(internal);
        results.push(item);
    }
    Ok(Json(UserList {
        success: true,
        query: query.unwrap_or_default(),
        total: page.total,
        page: paging.page,
        previous_cursor,
        next_cursor,
        results,
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
async fn get_user(
    State(s): State<AppState>,
    role: Option<axum::Extension<super::access::UserRole>>,
    path: PathArgs,
) -> ApiResult<Json<UserInfo>> {
    let user = path.id("user")?;
    let record = s.core.get_user(&user).await?;
    let enabled2fa = s.core.enabled_2fa(&record).await?;
    let mut info = UserInfo::from(record);
    // "Not available for user-role tokens".
    if role.is_some() {
        info.internal_data = JsonObject::new();
    }
    let now = chrono::Utc::now().timestamp_millis();
    let ttl = |resets: Option<i64>| resets.map_or(0, |t| ((t - now) / 1000).max(1));
    // Both counted by us: forwards at delivery, recipients at submission.
    let recipients = s.core.recipient_limit(&user).await?;
    info.limits.recipients.used = recipients.used;
    info.limits.recipients.ttl = ttl(recipients.resets);
    let forwards = s.core.forward_limit(&user).await?;
    info.limits.forwards.used = forwards.used;
    info.limits.forwards.ttl = ttl(forwards.resets);
    info.limits.filters.used = s.core.list_filters(&user).await?.len() as i64;
    info.autoreply = s.core.get_autoreply(&user).await?.status;
    info.enabled2fa = enabled2fa;
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

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct DeleteUserQuery {
    /// Keep the user restorable until this time (ISO 8601 or Unix ms); `false` or absent
    /// deletes now.
    pub delete_after: Option<String>,
}

/// Addresses removed by a deletion.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedAddresses {
    pub deleted: usize,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteUserResponse {
    pub success: bool,
    /// `TaskScheduled`.
    pub code: &'static str,
    pub user: String,
    pub addresses: DeletedAddresses,
    /// When the data goes for good (ISO 8601).
    pub delete_after: String,
    pub task: String,
}

/// Delete a user: now, or kept restorable until `deleteAfter`.
#[utoipa::path(
    delete,
    path = "/users/{user}",
    tag = "Users",
    params(("user" = String, Path, description = "User id (24 hex)"), DeleteUserQuery),
    responses(
        (status = 200, description = "Deleted, or scheduled for deletion", body = DeleteUserResponse),
        (status = 400, description = "Invalid id or date", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn delete_user(
    State(s): State<AppState>,
    path: PathArgs,
    QueryArgs(q): QueryArgs<DeleteUserQuery>,
) -> ApiResult<Json<DeleteUserResponse>> {
    let user = path.id("user")?;
    let delete_after = match q.delete_after.as_deref().map(str::trim) {
        None | Some("") | Some("false") => None,
        Some(d) => Some(de::parse_date(d).ok_or_else(|| {
            ApiError::invalid("deleteAfter", "\"deleteAfter\" must be a valid date")
        })?),
    };
    let done = s.core.delete_user_after(&user, delete_after).await?;
    Ok(Json(DeleteUserResponse {
        success: true,
        code: "TaskScheduled",
        user: user.to_string(),
        addresses: DeletedAddresses {
            deleted: done.addresses,
        },
        delete_after: super::shape::iso_date(
            done.delete_after
                .unwrap_or_else(|| chrono::Utc::now().timestamp_millis()),
        ),
        task: done.task.to_string(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResolvedUser {
    pub success: bool,
    #[schema(example = "609d201236d1d936948f23b1")]
    pub id: String,
}

/// Resolve the id of a username (or of one of the user's addresses).
#[utoipa::path(
    get,
    path = "/users/resolve/{username}",
    tag = "Users",
    params(("username" = String, Path, description = "Username or address")),
    responses(
        (status = 200, description = "The user's id", body = ResolvedUser),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn resolve_user(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<ResolvedUser>> {
    let name = path.str("username")?.to_string();
    let id = s
        .core
        .resolve_user(&name)
        .await?
        .ok_or_else(|| sealpost_core::Error::not_found("This user does not exist"))?;
    Ok(Json(ResolvedUser {
        success: true,
        id: id.to_string(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoverInfo {
    pub success: bool,
    pub user: String,
    pub username: String,
    pub storage_used: i64,
    pub tags: Vec<String>,
    /// When it was deleted (ISO 8601).
    pub deleted: String,
    /// When its data goes for good (ISO 8601).
    pub delete_after: String,
    /// Its addresses that nobody took meanwhile.
    pub recoverable_addresses: Vec<String>,
}

/// What a deleted user would get back with a restore.
#[utoipa::path(
    get,
    path = "/users/{user}/restore",
    tag = "Users",
    params(("user" = String, Path, description = "User id (24 hex)")),
    responses(
        (status = 200, description = "The deleted user", body = RecoverInfo),
        (status = 404, description = "No deleted user with this id", body = ErrorBody),
    )
)]
async fn restore_info(State(s): State<AppState>, path: PathArgs) -> ApiResult<Json<RecoverInfo>> {
    let user = path.id("user")?;
    let info = s.core.deleted_user_info(&user).await?;
    let d = info.deleted;
    Ok(Json(RecoverInfo {
        success: true,
        user: user.to_string(),
        username: d.user.username,
        storage_used: d.user.storage_used,
        tags: d.user.tags,
        deleted: super::shape::iso_date(d.deleted),
        delete_after: super::shape::iso_date(d.delete_after),
        recoverable_addresses: info.recoverable,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveredAddresses {
    pub recovered: usize,
    /// The main address after the restore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RestoreResponse {
    pub success: bool,
    /// `TaskCancelled`.
    pub code: &'static str,
    pub user: String,
    pub addresses: RecoveredAddresses,
}

/// Restore a deleted user (cancel its deletion): username, data and the addresses nobody took.
#[utoipa::path(
    post,
    path = "/users/{user}/restore",
    tag = "Users",
    params(("user" = String, Path, description = "User id (24 hex)")),
    responses(
        (status = 200, description = "Restored", body = RestoreResponse),
        (status = 400, description = "The username was taken meanwhile (`UserExistsError`)", body = ErrorBody),
        (status = 404, description = "No deleted user with this id", body = ErrorBody),
    )
)]
async fn restore_user(
    State(s): State<AppState>,
    path: PathArgs,
) -> ApiResult<Json<RestoreResponse>> {
    let user = path.id("user")?;
    let done = s.core.restore_user(&user).await?;
    Ok(Json(RestoreResponse {
        success: true,
        code: "TaskCancelled",
        user: user.to_string(),
        addresses: RecoveredAddresses {
            recovered: done.recovered,
            main: done.main,
        },
    }))
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
            profile: UserProfile::default(),
        }
    }

    #[test]
    fn user_info_shape() {
        let v = serde_json::to_value(UserInfo::from(record())).unwrap();
        let limit = |allowed: i64| json!({"allowed": allowed, "used": 0, "ttl": 0});
        assert_eq!(
            v,
            json!({
                "success": true,
                "id": "59fc66a03e54454869460e45",
                "username": "testuser01",
                "name": "",
                "address": "testuser01@example.com",
                "language": null,
                "enabled2fa": [],
                "autoreply": false,
                "encryptMessages": false,
                "encryptForwarded": false,
                "pubKey": "",
                "keyInfo": false,
                "metaData": {},
                "internalData": {},
                "targets": [],
                "spamLevel": 50,
                "limits": {
                    "quota": {"allowed": 107374182400i64, "used": 289838},
                    "recipients": limit(2000),
                    "filters": {"allowed": sealpost_core::filters::MAX_FILTERS, "used": 0},
                    "forwards": limit(2000),
                    "received": limit(0),
                    "imapUpload": limit(0),
                    "imapDownload": limit(0),
                    "pop3Download": limit(0),
                    "imapMaxConnections": {"allowed": 0, "used": 0}
                },
                "tags": ["green", "blue"],
                "disabledScopes": ["pop3"],
                "fromWhitelist": ["*@example.org"],
                "requirePasswordChange": false,
                "allowUnsafe": true,
                "uploadSentMessages": false,
                "pop3MaxMessages": 0,
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
                "name": "",
                "address": "testuser01@example.com",
                "tags": ["green", "blue"],
                "targets": [],
                "enabled2fa": [],
                "autoreply": false,
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
