//! The OpenAPI 3 document of the REST API, built by utoipa from the route and type definitions
//! and served at `GET /openapi.json`.

use super::AppState;
use axum::Extension;
use axum::http::header;
use axum::response::IntoResponse;
use bytes::Bytes;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sealpost REST API",
        description = "WildDuck-compatible administration API: users, addresses, mailboxes, messages and quota. \
            Every success carries `\"success\": true`; every failure is `{\"error\": message, \"code\": code}`.",
    ),
    modifiers(&AccessToken),
    tags(
        (name = "Users", description = "User accounts"),
        (name = "Authentication", description = "Checking credentials"),
        (name = "Addresses", description = "Email addresses of users"),
        (name = "DomainAliases", description = "Other names of a domain"),
        (name = "DomainAccess", description = "Per-tag allow and block lists of sender domains"),
        (name = "Mailboxes", description = "Folders of a user"),
        (name = "Messages", description = "Messages in mailboxes; ids are IMAP UIDs"),
        (name = "Archive", description = "Deleted messages, restorable for a while; ids are 24 hex"),
        (name = "Quota", description = "Storage accounting"),
        (name = "Filters", description = "Message filters run at delivery"),
        (name = "Autoreplies", description = "Automatic replies sent at delivery"),
        (name = "2FA", description = "TOTP two-factor authentication"),
        (name = "Application Specific Passwords", description = "Passwords for mail clients, limited to scopes"),
        (name = "Updates", description = "The change stream of an account (EventSource)"),
        (name = "Meta", description = "This document"),
    ),
)]
struct ApiDoc;

/// The `accessToken` query argument / `X-Access-Token` header, required when configured.
struct AccessToken;

impl Modify for AccessToken {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "accessTokenQuery",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "accessToken",
                "Required when the server is configured with an access token",
            ))),
        );
        components.add_security_scheme(
            "accessTokenHeader",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Access-Token",
                "Alternative to the accessToken query argument",
            ))),
        );
        let none: [&str; 0] = [];
        openapi.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("accessTokenQuery", none),
            SecurityRequirement::new("accessTokenHeader", none),
        ]);
    }
}

/// The document without paths; routes add theirs.
pub fn base() -> Document {
    ApiDoc::openapi()
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// The finished document, serialised once.
#[derive(Clone)]
pub struct Serialized(Bytes);

/// Makes the finished document available to [`openapi_json`].
pub fn document_layer(doc: &Document) -> Extension<Serialized> {
    let json = serde_json::to_string(doc).unwrap_or_else(|_| "{}".to_string());
    Extension(Serialized(Bytes::from(json)))
}

/// The OpenAPI 3 document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "Meta",
    responses((status = 200, description = "OpenAPI 3 document", body = serde_json::Value, content_type = "application/json"))
)]
async fn openapi_json(Extension(doc): Extension<Serialized>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], doc.0.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn document() -> Value {
        let (_, doc) = super::super::routes().split_for_parts();
        serde_json::to_value(doc).unwrap()
    }

    #[test]
    fn every_route_is_documented() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        let expect = [
            ("/users", &["get", "post"][..]),
            ("/users/{user}", &["get", "put", "delete"]),
            ("/authenticate", &["post"]),
            ("/addresses", &["get"]),
            ("/users/{user}/addresses", &["get", "post"]),
            (
                "/users/{user}/addresses/{address}",
                &["get", "put", "delete"],
            ),
            ("/users/{user}/mailboxes", &["get", "post"]),
            (
                "/users/{user}/mailboxes/{mailbox}",
                &["get", "put", "delete"],
            ),
            (
                "/users/{user}/mailboxes/{mailbox}/messages",
                &["get", "post"],
            ),
            (
                "/users/{user}/mailboxes/{mailbox}/messages/{message}",
                &["get", "put", "delete"],
            ),
            (
                "/users/{user}/mailboxes/{mailbox}/messages/{message}/message.eml",
                &["get"],
            ),
            (
                "/users/{user}/mailboxes/{mailbox}/messages/{message}/attachments/{attachment}",
                &["get"],
            ),
            ("/users/{user}/flagged", &["get"]),
            ("/users/{user}/search", &["get"]),
            ("/users/{user}/quota/reset", &["post"]),
            ("/users/{user}/archived", &["get"]),
            ("/users/{user}/archived/{message}", &["get"]),
            ("/users/{user}/archived/{message}/restore", &["post"]),
            ("/users/{user}/filters", &["get", "post"]),
            ("/users/{user}/filters/{filter}", &["get", "put", "delete"]),
            ("/filters", &["get"]),
            (
                "/users/{user}/mailboxes/{mailbox}/messages/{message}/events",
                &["get"],
            ),
            ("/users/{user}/autoreply", &["get", "put", "delete"]),
            ("/users/{user}/logout", &["put"]),
            ("/users/{user}/password/reset", &["post"]),
            ("/users/{user}/authlog", &["get"]),
            ("/users/{user}/authlog/{event}", &["get"]),
            ("/users/{user}/2fa/custom", &["put", "delete"]),
            ("/users/{user}/2fa", &["delete"]),
            ("/users/{user}/2fa/totp", &["delete"]),
            ("/users/{user}/2fa/totp/setup", &["post"]),
            ("/users/{user}/2fa/totp/enable", &["post"]),
            ("/users/{user}/2fa/totp/check", &["post"]),
            ("/users/{user}/asps", &["get", "post"]),
            ("/users/{user}/asps/{asp}", &["get", "delete"]),
            ("/users/{user}/updates", &["get"]),
            ("/dkim", &["get", "post"]),
            ("/dkim/resolve/{domain}", &["get"]),
            ("/dkim/{dkim}", &["get", "delete"]),
            ("/openapi.json", &["get"]),
            ("/addresses/forwarded", &["post"]),
            ("/addresses/forwarded/{address}", &["get", "put", "delete"]),
            ("/addresses/renameDomain", &["put"]),
            ("/addresses/resolve/{address}", &["get"]),
            ("/domainaccess/{domain}", &["delete"]),
            ("/domainaccess/{tag}/allow", &["get", "post"]),
            ("/domainaccess/{tag}/block", &["get", "post"]),
            ("/domainaliases", &["get", "post"]),
            ("/domainaliases/resolve/{alias}", &["get"]),
            ("/domainaliases/{alias}", &["get", "delete"]),
            ("/quota/reset", &["post"]),
            ("/users/resolve/{username}", &["get"]),
            ("/users/{user}/restore", &["get", "post"]),
            ("/preauth", &["post"]),
        ];
        assert_eq!(
            paths.len(),
            expect.len(),
            "{:?}",
            paths.keys().collect::<Vec<_>>()
        );
        for (path, methods) in expect {
            let item = paths.get(path).unwrap_or_else(|| panic!("{path} missing"));
            for m in methods {
                let op = &item[*m];
                assert!(op.is_object(), "{m} {path} missing");
                assert!(
                    op["responses"]["200"].is_object(),
                    "{m} {path} has no 200 response"
                );
            }
        }
    }

    /// Every `$ref` in the document points at a schema that exists.
    #[test]
    fn schema_references_resolve() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        fn walk(v: &Value, refs: &mut Vec<String>) {
            match v {
                Value::Object(map) => {
                    for (k, v) in map {
                        if k == "$ref" {
                            refs.push(v.as_str().unwrap_or_default().to_string());
                        }
                        walk(v, refs);
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
                _ => {}
            }
        }
        let mut refs = Vec::new();
        walk(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("odd ref {r}"));
            assert!(schemas.contains_key(name), "unresolved {r}");
        }
        for name in [
            "UserInfo",
            "UserList",
            "ErrorBody",
            "MessageDetailsJson",
            "CursorOrFalse",
            "UploadResponse",
        ] {
            assert!(schemas.contains_key(name), "{name}");
        }
    }

    #[test]
    fn parameters_and_security() {
        let doc = document();
        let list = &doc["paths"]["/users/{user}/mailboxes/{mailbox}/messages"]["get"]["parameters"];
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for n in [
            "user", "mailbox", "order", "limit", "page", "next", "previous",
        ] {
            assert!(names.contains(&n), "{n} in {names:?}");
        }
        assert!(doc["components"]["securitySchemes"]["accessTokenQuery"].is_object());
        let upload = &doc["paths"]["/users/{user}/mailboxes/{mailbox}/messages"]["post"]["requestBody"]
            ["content"];
        assert!(upload["message/rfc822"].is_object());
        assert!(upload["application/json"].is_object());
    }
}
