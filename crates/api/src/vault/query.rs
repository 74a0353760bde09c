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
/// Deepest form key (`a[b][c]` is 3): passbolt's deepest is 4 (`secrets[0][data]` under
/// `data`); deeper levels are dropped so that a client's key cannot build an unbounded tree
/// (whose recursive reading and dropping would exhaust the stack).
const MAX_DEPTH: usize = 8;

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
            if parts.len() == MAX_DEPTH {
                break;
            }
            parts.push(p.to_string());
        }
    }
    parts
}

/// Form fields (`a[b][c]` keys, in order) as nested JSON; passbolt's old clients send
/// `data[gpg_auth][keyid]=...`, so a leading `data` level is dropped.
fn fields_json(fields: impl Iterator<Item = (String, String)>) -> serde_json::Value {
    let mut root = serde_json::Map::new();
    for (k, v) in fields.take(MAX_PAIRS) {
        let mut path = form_path(&k);
        if path.first().is_some_and(|p| p == "data") && path.len() > 1 {
            path.remove(0);
        }
        let mut at = &mut root;
        for (i, p) in path.iter().enumerate() {
            if i + 1 == path.len() {
                at.insert(p.clone(), serde_json::Value::String(v));
                break;
            }
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
    lists(serde_json::Value::Object(root))
}

/// PHP's reading of forms: a level whose keys are all indexes (`secrets[0][data]`) is a list,
/// in index order.
fn lists(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let indexed = !m.is_empty()
                && m.keys()
                    .all(|k| !k.is_empty() && k.len() < 5 && k.bytes().all(|b| b.is_ascii_digit()));
            if indexed {
                let mut items: Vec<(usize, serde_json::Value)> = m
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap_or(usize::MAX), lists(v)))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                serde_json::Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                serde_json::Value::Object(m.into_iter().map(|(k, v)| (k, lists(v))).collect())
            }
        }
        other => other,
    }
}

/// An `application/x-www-form-urlencoded` body as nested JSON.
fn form_json(body: &str) -> serde_json::Value {
    fields_json(body.split('&').map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (decode(k), decode(v))
    }))
}

/// The boundary of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<&str> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"'))
            .filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

/// A parameter (`name="..."`) of a `Content-Disposition` header value.
fn disposition_param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"'))
    })
}

/// A `multipart/form-data` body (as the browser extension's `FormData` uploads send) as
/// nested JSON: its text fields, by their `a[b][c]` names. File parts (an avatar) are not
/// kept: the vault stores no files. `None` when the body is not well-formed.
fn multipart_json(body: &[u8], boundary: &str) -> Option<serde_json::Value> {
    let delimiter = format!("--{boundary}");
    let mut fields = Vec::new();
    let mut rest = body;
    // Before the first delimiter: a preamble, ignored.
    let start = find(rest, delimiter.as_bytes())?;
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, delimiter.as_bytes())?;
        let part = rest[..end].strip_suffix(b"\r\n")?;
        rest = &rest[end + delimiter.len()..];
        let split = find(part, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&part[..split]).ok()?;
        let content = &part[split + 4..];
        let disposition = headers.split("\r\n").find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(v.trim())
        })?;
        let Some(name) = disposition_param(disposition, "name") else {
            continue;
        };
        if disposition_param(disposition, "filename").is_some() {
            continue;
        }
        fields.push((
            name.to_string(),
            String::from_utf8_lossy(content).into_owned(),
        ));
        if fields.len() > MAX_PAIRS {
            break;
        }
    }
    Some(fields_json(fields.into_iter()))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads a request body as `T` (an empty body as `{}`): JSON, a form, or multipart form data.
pub fn body<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, VaultFailure> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    let value = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::json!({})
    } else if form {
        form_json(&String::from_utf8_lossy(bytes))
    } else if let Some(boundary) = multipart_boundary(content_type) {
        multipart_json(bytes, boundary).ok_or_else(|| {
            VaultFailure(VaultError::BadRequest(
                "The request body is not valid multipart form data.".into(),
            ))
        })?
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
    fn form_keys_are_bounded_in_depth() {
        let key = format!("a{}", "[b]".repeat(100_000));
        assert_eq!(form_path(&key).len(), MAX_DEPTH);
        let v = form_json(&format!("{key}=x"));
        assert!(v.is_object());
    }

    #[test]
    fn multipart() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"profile[first_name]\"\r\n\r\nAda\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"profile[avatar][file]\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\
--XyZ\r\ncontent-disposition: form-data; name=\"data[gpg_auth][keyid]\"\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=XyZ"),
            Some("XyZ")
        );
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"XyZ\""),
            Some("XyZ")
        );
        assert_eq!(multipart_boundary("application/json"), None);
        assert_eq!(
            multipart_json(body, "XyZ").unwrap(),
            serde_json::json!({"profile": {"first_name": "Ada"}, "gpg_auth": {"keyid": "line1\r\nline2"}})
        );
        // Truncated or without the closing delimiter: refused.
        assert!(multipart_json(&body[..body.len() - 12], "XyZ").is_none());
        assert!(multipart_json(b"no parts", "XyZ").is_none());
    }

    #[test]
    fn indexed_fields_are_lists() {
        let v = form_json("secrets[1][data]=b&secrets[0][data]=a&name=x&profile[first_name]=y");
        assert_eq!(
            v,
            serde_json::json!({"secrets": [{"data": "a"}, {"data": "b"}], "name": "x", "profile": {"first_name": "y"}})
        );
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
