//! `params` of a call: a by-name object (absent, `null` or `""` is none, as mailbox.org's
//! examples send). Each method says which names it takes; an unknown one, a missing one or
//! one of the wrong type is `-32602` naming it.

use super::error::{RpcError, RpcResult};
use serde_json::{Map, Value};

pub struct Params(Map<String, Value>);

impl Params {
    /// From the request's `params` member.
    pub fn from_member(v: Option<Value>) -> RpcResult<Params> {
        match v {
            None | Some(Value::Null) => Ok(Params(Map::new())),
            Some(Value::String(s)) if s.is_empty() => Ok(Params(Map::new())),
            Some(Value::Object(m)) => Ok(Params(m)),
            Some(Value::Array(_)) => Err(RpcError::invalid_params(
                "params must be an object of named parameters",
            )),
            Some(_) => Err(RpcError::invalid_params("params must be an object")),
        }
    }

    /// Refuses names not in `known` (nor in `also`).
    pub fn allow(&self, known: &[&str], also: &[&str]) -> RpcResult<()> {
        match self
            .0
            .keys()
            .find(|k| !known.contains(&k.as_str()) && !also.contains(&k.as_str()))
        {
            Some(k) => Err(RpcError::invalid_params(format!("unknown parameter {k:?}"))),
            None => Ok(()),
        }
    }

    fn present(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn str(&self, name: &str) -> RpcResult<String> {
        self.opt_str(name)?
            .ok_or_else(|| RpcError::invalid_params(format!("missing parameter {name:?}")))
    }

    pub fn opt_str(&self, name: &str) -> RpcResult<Option<String>> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(RpcError::invalid_params(format!(
                "parameter {name:?} must be a string"
            ))),
        }
    }

    /// A boolean: JSON `true`/`false`, or mailbox.org's `"1"`/`"0"` (also `"true"`, 1, 0).
    pub fn opt_bool(&self, name: &str) -> RpcResult<Option<bool>> {
        let bad = || RpcError::invalid_params(format!("parameter {name:?} must be a boolean"));
        match self.present(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.trim() {
                "1" | "true" => Ok(Some(true)),
                "0" | "false" | "" => Ok(Some(false)),
                _ => Err(bad()),
            },
            Some(Value::Number(n)) => match n.as_i64() {
                Some(1) => Ok(Some(true)),
                Some(0) => Ok(Some(false)),
                _ => Err(bad()),
            },
            Some(_) => Err(bad()),
        }
    }

    pub fn bool_or(&self, name: &str, default: bool) -> RpcResult<bool> {
        Ok(self.opt_bool(name)?.unwrap_or(default))
    }

    /// An integer: a JSON number or a string of digits.
    pub fn opt_i64(&self, name: &str) -> RpcResult<Option<i64>> {
        let bad = || RpcError::invalid_params(format!("parameter {name:?} must be an integer"));
        match self.present(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    /// A number: a JSON number or a string of one.
    pub fn opt_f64(&self, name: &str) -> RpcResult<Option<f64>> {
        let bad = || RpcError::invalid_params(format!("parameter {name:?} must be a number"));
        match self.present(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_f64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    /// An object of lists of strings (at most 100 entries of at most `max` each); absent:
    /// empty.
    pub fn list_map(
        &self,
        name: &str,
        max: usize,
    ) -> RpcResult<std::collections::BTreeMap<String, Vec<String>>> {
        let bad = || {
            RpcError::invalid_params(format!(
                "parameter {name:?} must be an object of lists of at most {max} strings"
            ))
        };
        match self.present(name) {
            None => Ok(Default::default()),
            Some(Value::Object(m)) if m.len() <= 100 => m
                .iter()
                .map(|(k, v)| match v {
                    Value::Array(items) if items.len() <= max => Ok((
                        k.clone(),
                        items
                            .iter()
                            .map(|i| i.as_str().map(str::to_string).ok_or_else(bad))
                            .collect::<RpcResult<Vec<_>>>()?,
                    )),
                    _ => Err(bad()),
                })
                .collect(),
            Some(_) => Err(bad()),
        }
    }

    /// A list of strings (at most `max`).
    pub fn opt_list(&self, name: &str, max: usize) -> RpcResult<Option<Vec<String>>> {
        let bad = || {
            RpcError::invalid_params(format!(
                "parameter {name:?} must be a list of at most {max} strings"
            ))
        };
        match self.present(name) {
            None => Ok(None),
            Some(Value::Array(items)) if items.len() <= max => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<RpcResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(bad()),
        }
    }

    /// An object of strings (at most 100 entries).
    pub fn string_map(&self, name: &str) -> RpcResult<std::collections::BTreeMap<String, String>> {
        let bad =
            || RpcError::invalid_params(format!("parameter {name:?} must be an object of strings"));
        match self.present(name) {
            None => Err(RpcError::invalid_params(format!(
                "missing parameter {name:?}"
            ))),
            Some(Value::Object(m)) if m.len() <= 100 => m
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.as_str().ok_or_else(bad)?.to_string())))
                .collect(),
            Some(_) => Err(bad()),
        }
    }

    /// The parameters named in `names` that are present, as given.
    pub fn subset<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Map<String, Value> {
        names
            .into_iter()
            .filter_map(|n| self.0.get(n).map(|v| (n.to_string(), v.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn params() {
        assert!(Params::from_member(Some(json!(""))).is_ok());
        assert!(Params::from_member(None).is_ok());
        assert!(Params::from_member(Some(json!([1]))).is_err());
        let p = Params::from_member(Some(
            json!({"a": "x", "b": "1", "c": 5, "l": ["q"], "n": null}),
        ))
        .unwrap();
        assert!(p.allow(&["a", "b", "c", "l", "n"], &[]).is_ok());
        let e = p.allow(&["a"], &["b"]).unwrap_err();
        assert!(e.message.contains("\"c\""), "{}", e.message);
        assert_eq!(p.str("a").unwrap(), "x");
        assert!(
            p.str("n")
                .unwrap_err()
                .message
                .contains("missing parameter \"n\"")
        );
        assert_eq!(p.opt_bool("b").unwrap(), Some(true));
        assert!(p.opt_bool("a").is_err());
        assert_eq!(p.opt_i64("c").unwrap(), Some(5));
        assert_eq!(p.opt_i64("b").unwrap(), Some(1));
        assert_eq!(p.opt_list("l", 5).unwrap(), Some(vec!["q".to_string()]));
        assert!(p.opt_list("l", 0).is_err());
    }
}
