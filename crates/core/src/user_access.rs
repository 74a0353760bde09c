//! What a user access token (`POST /authenticate {token: true}`) may reach in the WildDuck
//! API: that user's own resources only, `/users/me/...` standing for `/users/{its id}/...`,
//! and `DELETE /authenticate` to end the token. Everything else (other users, listings
//! across users, server settings) is `MissingPrivileges`.

use sealpost_store::model::ObjectId;

/// The path a request made with `user`'s token goes to (`me` replaced by the id), or `None`
/// when the token may not reach `path`. `path` is already canonical (`/users/...`, no
/// trailing slash).
pub fn user_token_path(user: &ObjectId, method: &str, path: &str) -> Option<String> {
    if path == "/authenticate" && method.eq_ignore_ascii_case("DELETE") {
        return Some(path.to_string());
    }
    let rest = path.strip_prefix("/users/")?;
    let (first, tail) = match rest.split_once('/') {
        Some((f, t)) => (f, Some(t)),
        None => (rest, None),
    };
    let own = first == "me" || first.eq_ignore_ascii_case(user.as_str());
    if !own {
        return None;
    }
    // A user may not delete or restore itself.
    if tail.is_none() && method.eq_ignore_ascii_case("DELETE") {
        return None;
    }
    if tail == Some("restore") {
        return None;
    }
    Some(match tail {
        Some(t) => format!("/users/{user}/{t}"),
        None => format!("/users/{user}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_resources_only() {
        let me = ObjectId::parse("5971da1754cfdc7f0983b2ec").unwrap();
        let other = "5971da1754cfdc7f0983b2ed";
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("GET", "/users/me", Some("/users/5971da1754cfdc7f0983b2ec")),
            (
                "GET",
                "/users/me/mailboxes",
                Some("/users/5971da1754cfdc7f0983b2ec/mailboxes"),
            ),
            (
                "PUT",
                "/users/5971DA1754CFDC7F0983B2EC",
                Some("/users/5971da1754cfdc7f0983b2ec"),
            ),
            ("GET", &format!("/users/{other}"), None),
            ("GET", &format!("/users/{other}/mailboxes"), None),
            ("GET", "/users", None),
            ("POST", "/users", None),
            ("GET", "/addresses", None),
            ("GET", "/settings", None),
            ("DELETE", "/users/me", None),
            ("POST", "/users/me/restore", None),
            ("DELETE", "/authenticate", Some("/authenticate")),
            ("POST", "/authenticate", None),
        ];
        for (method, path, want) in cases {
            assert_eq!(
                user_token_path(&me, method, path).as_deref(),
                *want,
                "{method} {path}"
            );
        }
    }
}
