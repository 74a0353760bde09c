//! Paging and ordering parameters of list endpoints: `limit` (1..=250, default 20), `page`
//! (echoed back), the opaque `next`/`previous` cursors, and `order`.

use super::de::{parse_int, query_str};
use super::error::{ApiError, ApiResult};
use super::shape::CursorOrFalse;
use sealpost_core::{Cursor, MAX_PAGE_LIMIT, Order, Page, PageRequest};
use serde::Deserialize;
use utoipa::IntoParams;

pub const DEFAULT_LIMIT: u32 = 20;
/// Longest cursor accepted back from a client.
const MAX_CURSOR: usize = 1024;

/// `limit`, `page`, `next`, `previous`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageArgs {
    /// Results per page, 1 to 250 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 250)]
    pub limit: Option<String>,
    /// Page number, echoed back as `page` (default 1).
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page: Option<String>,
    /// `nextCursor` of the previous response, to fetch the following page.
    pub next: Option<String>,
    /// `previousCursor` of the previous response, to fetch the preceding page.
    pub previous: Option<String>,
}

/// Validated paging: what to ask core for, and the page number to echo.
#[derive(Debug, Clone)]
pub struct Paging {
    pub request: PageRequest,
    pub page: u32,
}

impl PageArgs {
    pub fn paging(&self) -> ApiResult<Paging> {
        let limit = match query_str(&self.limit) {
            None => DEFAULT_LIMIT,
            Some(v) => {
                let n = parse_int(v)
                    .ok_or_else(|| ApiError::invalid("limit", "\"limit\" must be a number"))?;
                if n < 1 || n > MAX_PAGE_LIMIT as i64 {
                    return Err(ApiError::invalid(
                        "limit",
                        format!("\"limit\" must be between 1 and {MAX_PAGE_LIMIT}"),
                    ));
                }
                n as u32
            }
        };
        let page = match query_str(&self.page) {
            None => 1,
            Some(v) => {
                let n = parse_int(v)
                    .ok_or_else(|| ApiError::invalid("page", "\"page\" must be a number"))?;
                if n < 1 || n > u32::MAX as i64 {
                    return Err(ApiError::invalid(
                        "page",
                        "\"page\" must be a positive integer",
                    ));
                }
                n as u32
            }
        };
        let cursor = if let Some(next) = query_str(&self.next) {
            Cursor::Next(cursor("next", next)?)
        } else if let Some(previous) = query_str(&self.previous) {
            Cursor::Previous(cursor("previous", previous)?)
        } else {
            Cursor::First
        };
        Ok(Paging {
            request: PageRequest { limit, cursor },
            page,
        })
    }
}

fn cursor(field: &str, value: &str) -> ApiResult<String> {
    if value.len() <= MAX_CURSOR && value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(value.to_string())
    } else {
        Err(ApiError::invalid(
            field,
            format!("\"{field}\" must be a cursor from an earlier response"),
        ))
    }
}

/// `order`: `asc` or `desc` (default, newest first).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderArg {
    /// `asc` or `desc` (default `desc`, newest first).
    #[param(value_type = Option<String>, pattern = "^(asc|desc)$")]
    pub order: Option<String>,
}

impl OrderArg {
    pub fn order(&self) -> ApiResult<Order> {
        match query_str(&self.order)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("desc") => Ok(Order::Desc),
            Some("asc") => Ok(Order::Asc),
            Some(_) => Err(ApiError::invalid(
                "order",
                "\"order\" must be one of [asc, desc]",
            )),
        }
    }
}

/// The cursors of a page as WildDuck writes them (`false` when absent).
pub fn cursors<T>(page: &Page<T>) -> (CursorOrFalse, CursorOrFalse) {
    (
        CursorOrFalse(page.previous_cursor.clone()),
        CursorOrFalse(page.next_cursor.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(
        limit: Option<&str>,
        page: Option<&str>,
        next: Option<&str>,
        previous: Option<&str>,
    ) -> PageArgs {
        PageArgs {
            limit: limit.map(Into::into),
            page: page.map(Into::into),
            next: next.map(Into::into),
            previous: previous.map(Into::into),
        }
    }

    #[test]
    fn defaults() {
        let p = PageArgs::default().paging().unwrap();
        assert_eq!((p.request.limit, p.page), (20, 1));
        assert!(matches!(p.request.cursor, Cursor::First));
    }

    #[test]
    fn limits_are_validated_not_clamped() {
        assert_eq!(
            args(Some("250"), None, None, None)
                .paging()
                .unwrap()
                .request
                .limit,
            250
        );
        assert_eq!(
            args(Some("1"), None, None, None)
                .paging()
                .unwrap()
                .request
                .limit,
            1
        );
        for bad in ["0", "251", "-5", "ten", "2.5"] {
            let e = args(Some(bad), None, None, None).paging().unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{bad}");
            assert!(e.details.unwrap().contains_key("limit"));
        }
        assert!(args(None, Some("0"), None, None).paging().is_err());
        assert_eq!(args(None, Some("3"), None, None).paging().unwrap().page, 3);
    }

    #[test]
    fn cursors_pass_through() {
        let p = args(None, None, Some("abc123"), None).paging().unwrap();
        assert!(matches!(p.request.cursor, Cursor::Next(ref c) if c == "abc123"));
        let p = args(None, None, Some(""), Some("xyz")).paging().unwrap();
        assert!(matches!(p.request.cursor, Cursor::Previous(ref c) if c == "xyz"));
        assert!(args(None, None, Some("a b"), None).paging().is_err());
    }

    #[test]
    fn order_values() {
        let o = |v: Option<&str>| {
            OrderArg {
                order: v.map(Into::into),
            }
            .order()
        };
        assert_eq!(o(None).unwrap(), Order::Desc);
        assert_eq!(o(Some("asc")).unwrap(), Order::Asc);
        assert_eq!(o(Some("DESC")).unwrap(), Order::Desc);
        assert_eq!(o(Some("sideways")).unwrap_err().status.as_u16(), 400);
    }
}
