//! Response building blocks shared by every resource: the `success` envelopes, the values
//! WildDuck writes as `false` when absent, and its date format.

use chrono::{DateTime, Utc};
use sealpost_core::Millis;
use serde::{Serialize, Serializer};
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type,
};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// `{"success": true}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Success {
    #[schema(example = true)]
    pub success: bool,
}

impl Success {
    pub fn ok() -> axum::Json<Success> {
        axum::Json(Success { success: true })
    }
}

/// `{"success": true, "id": "..."}` after creating something.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    #[schema(example = true)]
    pub success: bool,
    /// Id of the new object (24 hex characters).
    #[schema(example = "59708695cdb513ce63340801")]
    pub id: String,
}

impl Created {
    pub fn id(id: impl ToString) -> axum::Json<Created> {
        axum::Json(Created {
            success: true,
            id: id.to_string(),
        })
    }
}

/// A timestamp as WildDuck writes it: ISO 8601 in UTC with milliseconds, e.g.
/// `2017-07-17T11:15:03.841Z`.
pub fn iso_date(ms: Millis) -> String {
    let at: DateTime<Utc> = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn false_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([false]))
}

/// Defines a value serialised as its inner value when present and as `false` when absent.
macro_rules! or_false {
    ($(#[$doc:meta])* $name:ident($inner:ty), $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name(pub Option<$inner>);

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match &self.0 {
                    Some(v) => v.serialize(s),
                    None => s.serialize_bool(false),
                }
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                OneOfBuilder::new().item($schema).item(false_schema()).into()
            }
        }

        impl ToSchema for $name {}
    };
}

or_false!(
    /// An opaque paging cursor, or `false` when there is no such page.
    CursorOrFalse(String),
    ObjectBuilder::new().schema_type(Type::String)
);
or_false!(
    /// A number, or `false` when not set (e.g. retention 0).
    #[allow(dead_code)]
    IntOrFalse(i64),
    ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
);
or_false!(
    /// An ISO 8601 date, or `false` when not set.
    DateOrFalse(String),
    ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
);
or_false!(
    /// A list of strings, or `false` when the list would be empty.
    ListOrFalse(Vec<String>),
    ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String))
);

#[allow(dead_code)]
impl IntOrFalse {
    /// `false` for 0 ("not set"), the number otherwise.
    pub fn nonzero(n: i64) -> Self {
        IntOrFalse((n != 0).then_some(n))
    }
}

impl ListOrFalse {
    pub fn nonempty(list: Vec<String>) -> Self {
        ListOrFalse((!list.is_empty()).then_some(list))
    }
}

/// Raw bytes in a response or request body (documentation only).
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn iso_dates_have_millis_and_z() {
        assert_eq!(iso_date(1_500_290_103_841), "2017-07-17T11:15:03.841Z");
        assert_eq!(iso_date(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_date(i64::MAX), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn or_false_values() {
        assert_eq!(
            serde_json::to_value(CursorOrFalse(None)).unwrap(),
            json!(false)
        );
        assert_eq!(
            serde_json::to_value(CursorOrFalse(Some("abc".into()))).unwrap(),
            json!("abc")
        );
        assert_eq!(
            serde_json::to_value(IntOrFalse::nonzero(0)).unwrap(),
            json!(false)
        );
        assert_eq!(
            serde_json::to_value(IntOrFalse::nonzero(86400000)).unwrap(),
            json!(86400000)
        );
        assert_eq!(
            serde_json::to_value(ListOrFalse::nonempty(vec![])).unwrap(),
            json!(false)
        );
        assert_eq!(
            serde_json::to_value(ListOrFalse::nonempty(vec!["totp".into()])).unwrap(),
            json!(["totp"])
        );
    }
}
