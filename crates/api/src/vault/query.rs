//! passbolt's list options, `contain[...]` and `filter[...]`, read from the raw query, and
//! request bodies (JSON, or `application/x-www-form-urlencoded` with `a[b][c]` keys), read
//! without axum's rejections so that every failure gets the envelope.

use super::envelope::VaultFailure;
use axum::http::HeaderMap;
use sealpost_core::vault::VaultError;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// Most query pairs read.
const MAX_PAIRS: usize = 200;

/// `%XX` and `+` decoding of one query component.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The list options of a request.
#[derive(Debug, Default)]
pub struct ListOptions {
    contain: BTreeMap<String, bool>,
    filters: BTreeMap<String, Vec<String>>,
}

fn truthy(v: &str) -> bool {
    matches!(v.trim(), "1" | "true" | "True" | "TRUE")
}

impl ListOptions {
    pub fn parse(query: Option<&str>) -> ListOptions {
        let mut o = ListOptions::default();
        for kv in query.unwrap_or_default().split('&').take(MAX_PAIRS) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let (k, v) = (decode(k), decode(v));
            if let Some(rest) = k.strip_prefix("contain[") {
                let name = rest.trim_end_matches(']').to_string();
                o.contain.insert(name, truthy(&v));
            } else if let Some(rest) = k.strip_prefix("filter[") {
                let name = rest
                    .trim_end_matches("[]")
                    .trim_end_matches(']')
                    .to_string();
                o.filters.entry(name).or_default().push(v);
            }
        }
        o
    }

    /// Whether `contain[name]` is on (unknown keys are simply never asked for).
    pub fn contains(&self, name: &str) -> bool {
        self.contain.get(name).copied().unwrap_or(false)
    }

    /// The values of `filter[name]` / `filter[name][]`.
    pub fn filter(&self, name: &str) -> Option<&[String]> {
        self.filters.get(name).map(Vec::as_slice)
    }

    /// One value of `filter[name]`.
    pub fn filter_one(&self, name: &str) -> Option<&str> {
        self.filter(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Whether a boolean `filter[name]` is on.
    pub fn filter_on(&self, name: &str) -> bool {
        self.filter_one(name).is_some_and(truthy)
    }
}

/// A form key `a[b][c]` as its path.
fn form_path(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (head, rest) = key.split_once('[').unwrap_or((key, ""));
    parts.push(head.to_string());
    for p in rest.split('[') {
        let p = p.trim_end_matches(']');
        if !p.is_empty() {
            parts.push(p.to_string());
        }
    }
    parts
}

/// A form body as nested JSON (passbolt's old clients send `data[gpg_auth][keyid]=...`).
fn form_json(body: &str) -> serde_json::Value {
    let mut root = serde_json::Map::new();
    for kv in body.split('&').take(MAX_PAIRS) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let mut path = form_path(&decode(k));
        if path.first().is_some_and(|p| p == "data") && path.len() > 1 {
            path.remove(0);
        }
        let mut at = &mut root;
        for (i, p) in path.iter().enumerate() {
            if i + 1 == path.len() {
                at.insert(p.clone(), serde_json::Value::String(decode(v)));
            } else {
                let next = at
                    .entry(p.clone())
                    .or_insert_with(|| serde_json::Value::Object(Default::default()));
                if !next.is_object() {
                    *next = serde_json::Value::Object(Default::default());
                }
                match next.as_object_mut() {
                    Some(m) => at = m,
                    None => break,
                }
            }
        }
    }
    serde_json::Value::Object(root)
}

/// Reads a request body as `T` (an empty body as `{}`).
pub fn body<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, VaultFailure> {
    let form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let value = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::json!({})
    } else if form {
        form_json(&String::from_utf8_lossy(bytes))
    } else {
        serde_json::from_slice(bytes).map_err(|e| {
            VaultFailure(VaultError::BadRequest(format!(
                "The request body is not valid JSON: {e}"
            )))
        })?
    };
    serde_json::from_value(value).map_err(|e| {
        VaultFailure(VaultError::BadRequest(format!(
            "The request data is not valid: {e}"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let o = ListOptions::parse(Some(
            "contain%5Bpermission%5D=True&contain[creator]=0&filter[has-id][]=a&filter[has-id][]=b&filter[is-favorite]=1&x",
        ));
        assert!(o.contains("permission"));
        assert!(!o.contains("creator"));
        assert!(!o.contains("unknown"));
        assert_eq!(o.filter("has-id").unwrap(), ["a", "b"]);
        assert!(o.filter_on("is-favorite"));
    }

    #[test]
    fn decoding() {
        assert_eq!(decode("a%20b+c%2B"), "a b c+");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
    }

    #[test]
    fn forms() {
        let v = form_json("data%5Bgpg_auth%5D%5Bkeyid%5D=ABC&gpg_auth[user_token_result]=x%7Cy");
        assert_eq!(
            v,
            serde_json::json!({"gpg_auth": {"keyid": "ABC", "user_token_result": "x|y"}})
        );
    }
}
