//! Joi-like reading of request values. WildDuck validates with `convert: true`, so `"1024"` is a
//! number, `"true"` a boolean and tags may be a comma separated string; query strings also take
//! `yes`/`no`, `1`/`0`, `on`/`off`. These helpers accept the same, for JSON bodies (as serde
//! `deserialize_with` adapters) and for query strings (as plain functions naming the parameter in
//! their errors).

use super::error::{ApiError, ApiResult};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use sealpost_core::Millis;
use serde::de::{Deserialize, Deserializer, Error as _};
use serde_json::Value;

/// Truthy and falsy spellings WildDuck's boolean schema accepts (case-insensitive).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "on" => Some(true),
        "false" | "0" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// A whole number from digits (with an optional sign); no floats, no exponents.
pub fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A point in time: Unix milliseconds, ISO 8601 / RFC 3339 (a missing zone means UTC), a bare
/// `YYYY-MM-DD`, or an RFC 2822 date as in a `Date:` header. A value chrono cannot represent
/// (it would later render as 1970) is refused.
pub fn parse_date(s: &str) -> Option<Millis> {
    parse_any_date(s).and_then(in_date_range)
}

/// `ms` when it is a representable point in time.
pub fn in_date_range(ms: Millis) -> Option<Millis> {
    DateTime::from_timestamp_millis(ms).map(|_| ms)
}

fn parse_any_date(s: &str) -> Option<Millis> {
    let s = s.trim();
    if let Some(n) = parse_int(s) {
        return Some(n);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_millis());
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.timestamp_millis());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, format) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
}

/// Splits a comma separated tag list, trimming and dropping empty entries.
pub fn split_tags(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

// ---- query string parameters ----

/// A boolean query parameter; absent or empty means `None`.
pub fn query_bool(field: &str, value: Option<&str>) -> ApiResult<Option<bool>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_bool(v)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(field, format!("\"{field}\" must be a boolean"))),
    }
}

/// A non-empty string query parameter; empty means `None`.
pub fn query_str(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

// ---- JSON body fields (serde adapters) ----

/// In a JSON body a boolean is `true`/`false` or the strings "true"/"false" (Joi's default
/// conversion); "yes", 1 and the like are refused there.
fn bool_value(v: &Value) -> Result<Option<bool>, &'static str> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err("must be a boolean"),
    }
}

fn int_value(v: &Value) -> Result<Option<i64>, &'static str> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                    _ => Err("must be an integer"),
                }
            }
        }
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => parse_int(s).map(Some).ok_or("must be a number"),
        _ => Err("must be a number"),
    }
}

/// `Option<bool>` accepting `true` and `"true"` (and the `false` forms); `null` means absent.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    bool_value(&Value::deserialize(d)?).map_err(D::Error::custom)
}

/// `Option<i64>` accepting numbers and numeric strings (`null`, `""`: absent) that may not be
/// negative (sizes, limits, retention).
pub fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match int_value(&Value::deserialize(d)?).map_err(D::Error::custom)? {
        Some(n) if n < 0 => Err(D::Error::custom("must be greater than or equal to 0")),
        other => Ok(other),
    }
}

/// Tags as an array of strings or one comma separated string.
pub fn opt_tags<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(split_tags(&s))),
        Value::Array(items) => {
            let mut tags = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => tags.extend(split_tags(&s)),
                    _ => return Err(D::Error::custom("must be an array of strings")),
                }
            }
            Ok(Some(tags))
        }
        _ => Err(D::Error::custom(
            "must be an array of strings or a comma separated string",
        )),
    }
}

/// A password that may be `false` (or `""`, `null`) for "no password": `Some(None)`.
pub fn opt_password<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null | Value::Bool(false) => Ok(Some(None)),
        Value::String(s) if s.is_empty() => Ok(Some(None)),
        Value::String(s) => Ok(Some(Some(s))),
        _ => Err(D::Error::custom("must be a string or false")),
    }
}

/// A nullable string field of an update: absent = unchanged (`None`), `null` or `""` = clear
/// (`Some(None)`), a string = set.
pub fn opt_nullable_string<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Some(None)),
        Value::String(s) if s.trim().is_empty() => Ok(Some(None)),
        Value::String(s) => Ok(Some(Some(s))),
        _ => Err(D::Error::custom("must be a string")),
    }
}

/// `hashedPassword`: WildDuck's boolean flag ("`password` is already a hash"), or the hash itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum HashedPassword {
    Flag(bool),
    Hash(String),
}

pub fn opt_hashed_password<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<HashedPassword>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(HashedPassword::Flag(b))),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(HashedPassword::Flag(true))),
        Value::String(s) if s.eq_ignore_ascii_case("false") => {
            Ok(Some(HashedPassword::Flag(false)))
        }
        Value::String(s) => Ok(Some(HashedPassword::Hash(s))),
        _ => Err(D::Error::custom("must be a boolean or a password hash")),
    }
}

/// `expires`: a date (ISO string, RFC 2822 string or Unix ms) to set, `false` to clear.
pub fn opt_expires<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Millis>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null | Value::Bool(false) => Ok(Some(None)),
        Value::Number(n) => n
            .as_i64()
            .and_then(in_date_range)
            .map(|n| Some(Some(n)))
            .ok_or_else(|| D::Error::custom("must be a valid date")),
        Value::String(s) if parse_bool(&s) == Some(false) => Ok(Some(None)),
        Value::String(s) => parse_date(&s)
            .map(|ms| Some(Some(ms)))
            .ok_or_else(|| D::Error::custom("must be a valid date")),
        _ => Err(D::Error::custom("must be a valid date or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct Sample {
        #[serde(deserialize_with = "opt_bool")]
        flag: Option<bool>,
        #[serde(deserialize_with = "opt_count")]
        count: Option<i64>,
        #[serde(deserialize_with = "opt_tags")]
        tags: Option<Vec<String>>,
        #[serde(deserialize_with = "opt_password")]
        password: Option<Option<String>>,
        #[serde(deserialize_with = "opt_expires")]
        expires: Option<Option<Millis>>,
        #[serde(deserialize_with = "opt_nullable_string")]
        name: Option<Option<String>>,
        #[serde(deserialize_with = "opt_hashed_password")]
        hashed: Option<HashedPassword>,
    }

    fn sample(v: serde_json::Value) -> Result<Sample, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn json_booleans_are_strict() {
        for (v, want) in [
            (json!(true), Some(true)),
            (json!(false), Some(false)),
            (json!("TRUE"), Some(true)),
            (json!("false"), Some(false)),
            (json!(null), None),
        ] {
            assert_eq!(sample(json!({ "flag": v })).unwrap().flag, want, "{v}");
        }
        for bad in [
            json!("maybe"),
            json!("yes"),
            json!(""),
            json!(1),
            json!(0),
            json!([true]),
        ] {
            let e = sample(json!({ "flag": bad.clone() })).unwrap_err();
            assert!(e.contains("must be a boolean"), "{bad}");
        }
        assert_eq!(sample(json!({})).unwrap().flag, None);
    }

    #[test]
    fn counts_accept_numeric_strings_and_reject_negatives() {
        assert_eq!(sample(json!({"count": 1024})).unwrap().count, Some(1024));
        assert_eq!(sample(json!({"count": "1024"})).unwrap().count, Some(1024));
        assert_eq!(sample(json!({"count": 5.0})).unwrap().count, Some(5));
        assert!(sample(json!({"count": 5.5})).is_err());
        assert!(
            sample(json!({"count": -1}))
                .unwrap_err()
                .contains("greater than or equal to 0")
        );
        assert!(sample(json!({"count": "12ab"})).is_err());
        assert!(sample(json!({"count": [1]})).is_err());
    }

    #[test]
    fn tags_from_array_or_string() {
        assert_eq!(
            sample(json!({"tags": "red, green,,"})).unwrap().tags,
            Some(vec!["red".into(), "green".into()])
        );
        assert_eq!(
            sample(json!({"tags": ["a", " b "]})).unwrap().tags,
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(sample(json!({"tags": []})).unwrap().tags, Some(vec![]));
        assert!(sample(json!({"tags": [1]})).is_err());
    }

    #[test]
    fn passwords_and_names() {
        assert_eq!(
            sample(json!({"password": false})).unwrap().password,
            Some(None)
        );
        assert_eq!(
            sample(json!({"password": ""})).unwrap().password,
            Some(None)
        );
        assert_eq!(
            sample(json!({"password": "s3cret"})).unwrap().password,
            Some(Some("s3cret".into()))
        );
        assert_eq!(sample(json!({})).unwrap().password, None);
        assert!(sample(json!({"password": true})).is_err());
        assert_eq!(sample(json!({"name": null})).unwrap().name, Some(None));
        assert_eq!(
            sample(json!({"name": "Ann"})).unwrap().name,
            Some(Some("Ann".into()))
        );
        assert_eq!(sample(json!({})).unwrap().name, None);
        assert_eq!(
            sample(json!({"hashed": true})).unwrap().hashed,
            Some(HashedPassword::Flag(true))
        );
        assert_eq!(
            sample(json!({"hashed": "$argon2id$v=19$x"}))
                .unwrap()
                .hashed,
            Some(HashedPassword::Hash("$argon2id$v=19$x".into()))
        );
    }

    #[test]
    fn expires_values() {
        assert_eq!(
            sample(json!({"expires": false})).unwrap().expires,
            Some(None)
        );
        assert_eq!(
            sample(json!({"expires": 1500000000000i64}))
                .unwrap()
                .expires,
            Some(Some(1_500_000_000_000))
        );
        assert_eq!(
            sample(json!({"expires": "2017-07-17T11:15:03.841Z"}))
                .unwrap()
                .expires,
            Some(Some(1_500_290_103_841))
        );
        assert!(sample(json!({"expires": true})).is_err());
        assert!(sample(json!({"expires": "soon"})).is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("2017-07-17T11:15:03.841Z"),
            Some(1_500_290_103_841)
        );
        assert_eq!(
            parse_date("2017-07-17T13:15:03.841+02:00"),
            Some(1_500_290_103_841)
        );
        assert_eq!(
            parse_date("2017-07-17T11:15:03.841"),
            Some(1_500_290_103_841)
        );
        assert_eq!(
            parse_date("Mon, 17 Jul 2017 11:15:03 +0000"),
            Some(1_500_290_103_000)
        );
        assert_eq!(parse_date("2017-07-17"), Some(1_500_249_600_000));
        assert_eq!(parse_date("1500290103841"), Some(1_500_290_103_841));
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("999999999999999999"), None);
        assert_eq!(parse_date("-999999999999999999"), None);
    }

    #[test]
    fn query_values() {
        assert_eq!(query_bool("counters", Some("yes")).unwrap(), Some(true));
        assert_eq!(query_bool("counters", Some("0")).unwrap(), Some(false));
        assert_eq!(query_bool("counters", None).unwrap(), None);
        let e = query_bool("counters", Some("perhaps")).unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert!(e.details.unwrap().contains_key("counters"));
        assert_eq!(parse_int("-12"), Some(-12));
        assert_eq!(parse_int("1e3"), None);
        assert_eq!(parse_int(""), None);
    }
}
