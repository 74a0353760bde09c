//! Request parameters of Guard actions: OX clients send some in the query string (`session`,
//! `keyid`, `keyType`...) and some in a JSON body (`password`, `key`...), so both are read into
//! one map of strings (the body wins); each action parses what it needs into types.

use super::error::{GuardError, GuardResult};
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use sealpost_core::guard::GuardAuth;
use sealpost_core::outbound::Secret;
use std::collections::BTreeMap;

/// Largest request body of a Guard action (an armored key ring upload is the largest).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The merged parameters of a request. Its `Debug` shows names only: values hold passwords.
pub struct Params(BTreeMap<String, String>);

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Params {
    pub fn from_parts(query: Option<&str>, body: &[u8]) -> GuardResult<Params> {
        let mut map = BTreeMap::new();
        if let Some(q) = query {
            let pairs: Vec<(String, String)> = serde_urlencoded_pairs(q)?;
            for (k, v) in pairs {
                map.insert(k, v);
            }
        }
        if !body.iter().all(u8::is_ascii_whitespace) {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|_| GuardError::invalid("Request body is not valid JSON"))?;
            let serde_json::Value::Object(obj) = value else {
                return Err(GuardError::invalid("Request body must be a JSON object"));
            };
            for (k, v) in obj {
                let v = match v {
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Bool(b) => b.to_string(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => return Err(GuardError::invalid(format!("\"{k}\" must be a string"))),
                };
                map.insert(k, v);
            }
        }
        Ok(Params(map))
    }

    /// A non-empty parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> GuardResult<&str> {
        self.get(name)
            .ok_or_else(|| GuardError::invalid(format!("\"{name}\" is required")))
    }

    /// A secret parameter (a password).
    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.get(name).map(Secret::new)
    }

    pub fn required_secret(&self, name: &str) -> GuardResult<Secret> {
        self.required(name).map(Secret::new)
    }

    /// A key ID: a decimal 64-bit integer (Guard's `keyid`) or 16 hex digits.
    pub fn key_id(&self, name: &str) -> GuardResult<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_key_id(v)
                .map(Some)
                .ok_or_else(|| GuardError::invalid(format!("\"{name}\" must be a key ID"))),
        }
    }

    /// How the private key is to be unlocked: `password`, else the `auth` token.
    pub fn unlock(&self) -> GuardResult<GuardAuth> {
        if let Some(p) = self.secret("password") {
            Ok(GuardAuth::Password(p))
        } else if let Some(a) = self.secret("auth") {
            Ok(GuardAuth::Token(a))
        } else {
            Err(GuardError::invalid("\"password\" is required"))
        }
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1" | "yes"))
    }
}

pub fn parse_key_id(v: &str) -> Option<i64> {
    let v = v.trim();
    if let Ok(n) = v.parse::<i64>() {
        return Some(n);
    }
    let hex = v.strip_prefix("0x").unwrap_or(v);
    if hex.len() == 16 {
        return u64::from_str_radix(hex, 16).ok().map(|n| n as i64);
    }
    None
}

fn serde_urlencoded_pairs(q: &str) -> GuardResult<Vec<(String, String)>> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| GuardError::invalid("Invalid query string"))?,
    )
    .map(|q| q.0)
    .map_err(|_| GuardError::invalid("Invalid query string"))
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = GuardError;

    async fn from_request(req: Request<Body>, _: &S) -> GuardResult<Self> {
        let query = req.uri().query().map(str::to_string);
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| {
                GuardError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "TooLarge",
                    format!("The request body is larger than {BODY_LIMIT} bytes"),
                )
            })?;
        Params::from_parts(query.as_deref(), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged() {
        let p = Params::from_parts(
            Some("session=abc&keyid=12&keyType=public"),
            br#"{"password":"pw","keyid":-5,"n":null}"#,
        )
        .unwrap();
        assert_eq!(p.get("session"), Some("abc"));
        assert_eq!(p.key_id("keyid").unwrap(), Some(-5));
        assert_eq!(p.get("password"), Some("pw"));
        assert_eq!(p.get("n"), None);
        assert!(!format!("{p:?}").contains("pw\""));
        assert!(Params::from_parts(None, b"[1]").is_err());
        assert!(Params::from_parts(None, b"{\"a\":{}}").is_err());
        assert!(Params::from_parts(None, b"not json").is_err());
    }

    #[test]
    fn key_ids() {
        assert_eq!(parse_key_id("123"), Some(123));
        assert_eq!(parse_key_id("FFFFFFFFFFFFFFFF"), Some(-1));
        assert_eq!(parse_key_id("0x0000000000000010"), Some(16));
        assert_eq!(parse_key_id("xyz"), None);
    }
}
