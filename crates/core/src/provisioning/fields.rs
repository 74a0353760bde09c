//! The free-form fields of accounts and mail users (contact data, addresses, memo...), by
//! mailbox.org's names, with their types. They are stored as one JSON object per row.

use crate::{Error, Result};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Bool,
    Int,
}

use FieldKind::*;

/// The fields `account.add` and `account.set` take besides `account`, `password`, `plan`.
pub const ACCOUNT_FIELDS: &[(&str, FieldKind)] = &[
    ("memo", Text),
    ("contact_mail", Text),
    ("contact_mail_payment", Text),
    ("contact_phone", Text),
    ("contact_fax", Text),
    ("contact_mobile", Text),
    ("company", Text),
    ("ustid", Text),
    ("salutation", Text),
    ("language", Text),
    ("address_main_salutation", Text),
    ("address_main_first_name", Text),
    ("address_main_last_name", Text),
    ("address_main_street", Text),
    ("address_main_zipcode", Text),
    ("address_main_town", Text),
    ("address_main_country", Text),
    ("address_payment_same_as_main", Bool),
    ("address_payment_first_name", Text),
    ("address_payment_last_name", Text),
    ("address_payment_company", Text),
    ("address_payment_street", Text),
    ("address_payment_zipcode", Text),
    ("address_payment_town", Text),
    ("address_payment_country", Text),
    ("max_mailinglist", Int),
];

/// The fields of mail users kept in `rpc_mail.fields` (names, plan, password, aliases and
/// the rest have columns or act on the user).
pub const MAIL_FIELDS: &[(&str, FieldKind)] = &[
    ("memo", Text),
    ("title", Text),
    ("birthday", Text),
    ("position", Text),
    ("department", Text),
    ("company", Text),
    ("street", Text),
    ("postal_code", Text),
    ("city", Text),
    ("phone", Text),
    ("fax", Text),
    ("cell_phone", Text),
    ("alternate_mail", Text),
    ("additional_mail_quota", Int),
];

/// Longest text field, characters.
const MAX_TEXT: usize = 1000;

/// Checks `given` (name → value) against `spec` and merges it into `stored` (a JSON object
/// text); returns the new JSON text. `null` removes a field.
pub(crate) fn merge(
    spec: &[(&'static str, FieldKind)],
    stored: &str,
    given: &Map<String, Value>,
) -> Result<String> {
    let mut out: Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
    for (name, value) in given {
        let Some((field, kind)) = spec.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let field: &'static str = field;
        let bad = |what: &str| Error::validation(format!("{field} must be {what}"), field);
        let v = match (kind, value) {
            (_, Value::Null) => {
                out.remove(field);
                continue;
            }
            (Text, Value::String(s)) => {
                crate::validate::text(s, field)?;
                if s.chars().count() > MAX_TEXT {
                    return Err(bad("at most 1000 characters"));
                }
                Value::String(s.clone())
            }
            (Bool, Value::Bool(b)) => Value::Bool(*b),
            (Bool, Value::String(s)) => match s.as_str() {
                "1" | "true" => Value::Bool(true),
                "0" | "false" => Value::Bool(false),
                _ => return Err(bad("a boolean")),
            },
            (Int, Value::Number(n)) if n.as_i64().is_some_and(|n| n >= 0) => {
                Value::Number(n.clone())
            }
            (Int, Value::String(s)) => match s.trim().parse::<i64>() {
                Ok(n) if n >= 0 => Value::from(n),
                _ => return Err(bad("a non-negative integer")),
            },
            (Text, _) => return Err(bad("a string")),
            (Bool, _) => return Err(bad("a boolean")),
            (Int, _) => return Err(bad("a non-negative integer")),
        };
        out.insert(field.to_string(), v);
    }
    Ok(Value::Object(out).to_string())
}

/// The stored JSON object (empty when unreadable).
pub(crate) fn parse(stored: &str) -> Map<String, Value> {
    serde_json::from_str(stored).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_checks_types() {
        let given = |v: Value| v.as_object().cloned().unwrap();
        let s = merge(
            ACCOUNT_FIELDS,
            "{}",
            &given(
                json!({"memo": "m", "max_mailinglist": "3", "address_payment_same_as_main": "1"}),
            ),
        )
        .unwrap();
        let m = parse(&s);
        assert_eq!(m["memo"], "m");
        assert_eq!(m["max_mailinglist"], 3);
        assert_eq!(m["address_payment_same_as_main"], true);
        let s = merge(ACCOUNT_FIELDS, &s, &given(json!({"memo": null}))).unwrap();
        assert!(!parse(&s).contains_key("memo"));
        let e = merge(
            ACCOUNT_FIELDS,
            "{}",
            &given(json!({"max_mailinglist": "x"})),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Validation {
                field: Some("max_mailinglist"),
                ..
            }
        ));
        assert!(merge(ACCOUNT_FIELDS, "{}", &given(json!({"memo": 5}))).is_err());
    }
}
