//! The vault's access rules, in one place: permission types (1 read, 7 update, 15 owner),
//! what a user's access to a resource or folder is (the highest of their own permission and
//! those of their groups), what an operation needs (no access at all: 404, too little: 403),
//! how a share changes an access list (a resource keeps at least one owner), and that a
//! change of who has access carries exactly one encrypted secret for each user who has
//! access afterwards. Pure functions over rows: every route calls them, the store only
//! applies what they decided.

use super::VaultError;
use sealpost_store::model::Millis;
use sealpost_store::vault::{Aco, Aro, PermissionRow, VaultId};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Permission types.
pub const READ: i64 = 1;
pub const UPDATE: i64 = 7;
pub const OWNER: i64 = 15;

/// Whether `t` is one of the three permission types.
pub fn valid_type(t: i64) -> bool {
    matches!(t, READ | UPDATE | OWNER)
}

/// The access `user` (a member of `groups`) has through `perms`: the highest type of the
/// permissions that name them or one of their groups; `None` = no access.
pub fn access(perms: &[PermissionRow], user: &VaultId, groups: &HashSet<VaultId>) -> Option<i64> {
    perms
        .iter()
        .filter(|p| match p.aro {
            Aro::User => &p.aro_foreign_key == user,
            Aro::Group => groups.contains(&p.aro_foreign_key),
        })
        .map(|p| p.kind)
        .max()
}

/// The permission row that gives a user their access, among the rows naming them or one of
/// their groups: the highest type (the first of equals), as passbolt's `contain[permission]`.
pub fn best_permission(mine: &[PermissionRow]) -> Option<&PermissionRow> {
    mine.iter()
        .reduce(|best, p| if p.kind > best.kind { p } else { best })
}

/// What an operation on an object needs: `Ok` when `have` reaches `need`; no access at all is
/// "not found" (the object's existence is not disclosed), too little is "forbidden".
pub fn require(have: Option<i64>, need: i64, what: &str) -> Result<(), VaultError> {
    match have {
        None => Err(VaultError::NotFound(format!("The {what} does not exist."))),
        Some(t) if t < need => Err(VaultError::Forbidden(format!(
            "You are not allowed to {} this {what}.",
            match need {
                OWNER => "share",
                UPDATE => "update",
                _ => "read",
            }
        ))),
        Some(_) => Ok(()),
    }
}

/// The users who have access through `perms`, given each group's members.
pub fn users_with_access(
    perms: &[PermissionRow],
    members: &BTreeMap<VaultId, Vec<VaultId>>,
) -> BTreeSet<VaultId> {
    let mut out = BTreeSet::new();
    for p in perms {
        match p.aro {
            Aro::User => {
                out.insert(p.aro_foreign_key.clone());
            }
            Aro::Group => {
                if let Some(m) = members.get(&p.aro_foreign_key) {
                    out.extend(m.iter().cloned());
                }
            }
        }
    }
    out
}

/// One entry of a share request's `permissions`: an existing permission (by `id`) to change
/// or delete, or a new one for `aro`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareChange {
    pub id: Option<VaultId>,
    pub aro: Option<Aro>,
    pub aro_foreign_key: Option<VaultId>,
    pub kind: Option<i64>,
    pub delete: bool,
}

/// The access list after `changes`: existing permissions changed or deleted by id (or by
/// aro when no id is given), new ones added. Refused (400, nothing changes) when a change
/// names an unknown permission, a type is not 1/7/15, an aro would get two permissions, or no
/// owner would be left.
pub fn apply_share(
    current: &[PermissionRow],
    changes: &[ShareChange],
    aco: Aco,
    aco_id: &VaultId,
    now: Millis,
) -> Result<Vec<PermissionRow>, VaultError> {
    let mut out: Vec<PermissionRow> = current.to_vec();
    for (i, c) in changes.iter().enumerate() {
        if let Some(t) = c.kind
            && !valid_type(t)
        {
            return Err(VaultError::field(
                &format!("permissions.{i}.type"),
                "inList",
                "The access type should be one of 1, 7, 15.",
            ));
        }
        let existing = match (&c.id, c.aro, &c.aro_foreign_key) {
            (Some(id), _, _) => Some(out.iter().position(|p| &p.id == id).ok_or_else(|| {
                VaultError::field(
                    &format!("permissions.{i}.id"),
                    "exists",
                    "The permission does not exist.",
                )
            })?),
            (None, Some(aro), Some(key)) => out
                .iter()
                .position(|p| p.aro == aro && &p.aro_foreign_key == key),
            _ => {
                return Err(VaultError::field(
                    &format!("permissions.{i}.aro_foreign_key"),
                    "_required",
                    "An aro and its foreign key are required.",
                ));
            }
        };
        match existing {
            Some(at) if c.delete => {
                out.remove(at);
            }
            Some(at) => {
                if let Some(t) = c.kind {
                    out[at].kind = t;
                    out[at].modified = now;
                }
            }
            None if c.delete => {}
            None => {
                let (Some(aro), Some(key), Some(kind)) = (c.aro, c.aro_foreign_key.clone(), c.kind)
                else {
                    return Err(VaultError::field(
                        &format!("permissions.{i}.type"),
                        "_required",
                        "A new permission needs an aro, a foreign key and a type.",
                    ));
                };
                out.push(PermissionRow {
                    id: VaultId::new(),
                    aco,
                    aco_foreign_key: aco_id.clone(),
                    aro,
                    aro_foreign_key: key,
                    kind,
                    created: now,
                    modified: now,
                });
            }
        }
    }
    if !out.iter().any(|p| p.kind == OWNER) {
        return Err(VaultError::field(
            "permissions",
            "at_least_one_owner",
            "At least one owner is required.",
        ));
    }
    Ok(out)
}

/// The users who gain and who lose access between two access lists.
pub fn access_diff(
    before: &BTreeSet<VaultId>,
    after: &BTreeSet<VaultId>,
) -> (Vec<VaultId>, Vec<VaultId>) {
    (
        after.difference(before).cloned().collect(),
        before.difference(after).cloned().collect(),
    )
}

/// Checks that `given` (user, data) holds exactly one secret for each user of `required`
/// and none for anyone else.
pub fn exact_secrets(
    required: &BTreeSet<VaultId>,
    given: &[(VaultId, String)],
) -> Result<(), VaultError> {
    let mut seen = BTreeSet::new();
    for (i, (user, _)) in given.iter().enumerate() {
        if !required.contains(user) {
            return Err(VaultError::field(
                &format!("secrets.{i}.user_id"),
                "has_access",
                "The user does not have access to the resource.",
            ));
        }
        if !seen.insert(user.clone()) {
            return Err(VaultError::field(
                &format!("secrets.{i}.user_id"),
                "unique",
                "A secret is given twice for the same user.",
            ));
        }
    }
    if seen.len() != required.len() {
        return Err(VaultError::field(
            "secrets",
            "secrets_provided",
            "A secret must be provided for every user who has access.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(aro: Aro, key: &VaultId, kind: i64) -> PermissionRow {
        PermissionRow {
            id: VaultId::new(),
            aco: Aco::Resource,
            aco_foreign_key: VaultId::from_stored("r"),
            aro,
            aro_foreign_key: key.clone(),
            kind,
            created: 0,
            modified: 0,
        }
    }

    #[test]
    fn access_is_the_highest_of_user_and_groups() {
        let (alice, bob, g) = (VaultId::new(), VaultId::new(), VaultId::new());
        let perms = vec![perm(Aro::User, &alice, READ), perm(Aro::Group, &g, UPDATE)];
        let none = HashSet::new();
        let member: HashSet<_> = [g.clone()].into();
        assert_eq!(access(&perms, &alice, &none), Some(READ));
        assert_eq!(access(&perms, &alice, &member), Some(UPDATE));
        assert_eq!(access(&perms, &bob, &none), None);
        assert_eq!(access(&perms, &bob, &member), Some(UPDATE));
    }

    #[test]
    fn best_permission_is_the_highest_first() {
        let (alice, g) = (VaultId::new(), VaultId::new());
        assert!(best_permission(&[]).is_none());
        let rows = vec![
            perm(Aro::User, &alice, READ),
            perm(Aro::Group, &g, OWNER),
            perm(Aro::Group, &g, UPDATE),
            perm(Aro::User, &alice, OWNER),
        ];
        let b = best_permission(&rows).unwrap();
        assert_eq!((b.kind, &b.id), (OWNER, &rows[1].id));
    }

    #[test]
    fn require_tells_not_found_from_forbidden() {
        assert!(matches!(
            require(None, READ, "resource"),
            Err(VaultError::NotFound(_))
        ));
        assert!(matches!(
            require(Some(READ), UPDATE, "resource"),
            Err(VaultError::Forbidden(_))
        ));
        assert!(matches!(
            require(Some(UPDATE), OWNER, "resource"),
            Err(VaultError::Forbidden(_))
        ));
        assert!(require(Some(OWNER), OWNER, "resource").is_ok());
        assert!(require(Some(UPDATE), UPDATE, "resource").is_ok());
        assert!(require(Some(READ), READ, "resource").is_ok());
    }

    #[test]
    fn users_with_access_expands_groups() {
        let (a, b, c, g) = (
            VaultId::new(),
            VaultId::new(),
            VaultId::new(),
            VaultId::new(),
        );
        let perms = vec![perm(Aro::User, &a, OWNER), perm(Aro::Group, &g, READ)];
        let members: BTreeMap<_, _> = [(g.clone(), vec![b.clone(), a.clone()])].into();
        let got = users_with_access(&perms, &members);
        assert_eq!(got, [a, b].into_iter().collect());
        assert!(!got.contains(&c));
    }

    #[test]
    fn share_keeps_an_owner_and_valid_types() {
        let (a, b) = (VaultId::new(), VaultId::new());
        let rid = VaultId::from_stored("r");
        let current = vec![perm(Aro::User, &a, OWNER)];
        let add_b = ShareChange {
            id: None,
            aro: Some(Aro::User),
            aro_foreign_key: Some(b.clone()),
            kind: Some(READ),
            delete: false,
        };
        let out = apply_share(
            &current,
            std::slice::from_ref(&add_b),
            Aco::Resource,
            &rid,
            1,
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        // Removing the only owner is refused.
        let drop_a = ShareChange {
            id: Some(current[0].id.clone()),
            aro: None,
            aro_foreign_key: None,
            kind: None,
            delete: true,
        };
        assert!(
            apply_share(
                &current,
                std::slice::from_ref(&drop_a),
                Aco::Resource,
                &rid,
                1
            )
            .is_err()
        );
        // Unless another owner is made in the same share.
        let b_owner = ShareChange {
            kind: Some(OWNER),
            ..add_b.clone()
        };
        let out = apply_share(&current, &[b_owner, drop_a], Aco::Resource, &rid, 1).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].aro_foreign_key, b);
        // Bad type, unknown id.
        let bad = ShareChange {
            kind: Some(3),
            ..add_b.clone()
        };
        assert!(apply_share(&current, &[bad], Aco::Resource, &rid, 1).is_err());
        let unknown = ShareChange {
            id: Some(VaultId::new()),
            aro: None,
            aro_foreign_key: None,
            kind: Some(READ),
            delete: false,
        };
        assert!(apply_share(&current, &[unknown], Aco::Resource, &rid, 1).is_err());
        // Changing an existing aro by aro (no id) updates instead of duplicating.
        let again = ShareChange {
            kind: Some(UPDATE),
            ..add_b
        };
        let once = apply_share(
            &current,
            std::slice::from_ref(&again),
            Aco::Resource,
            &rid,
            1,
        )
        .unwrap();
        let twice = apply_share(&once, &[again], Aco::Resource, &rid, 1).unwrap();
        assert_eq!(twice.len(), 2);
        assert_eq!(twice[1].kind, UPDATE);
    }

    #[test]
    fn exactly_one_secret_per_user_with_access() {
        let (a, b, c) = (VaultId::new(), VaultId::new(), VaultId::new());
        let need: BTreeSet<_> = [a.clone(), b.clone()].into();
        let s = |u: &VaultId| (u.clone(), "x".to_string());
        assert!(exact_secrets(&need, &[s(&a), s(&b)]).is_ok());
        assert!(exact_secrets(&need, &[s(&a)]).is_err(), "one missing");
        assert!(
            exact_secrets(&need, &[s(&a), s(&b), s(&c)]).is_err(),
            "one extra"
        );
        assert!(exact_secrets(&need, &[s(&a), s(&a)]).is_err(), "twice");
        let (gain, lose) = access_diff(&[a.clone(), c.clone()].into(), &need);
        assert_eq!(gain, vec![b]);
        assert_eq!(lose, vec![c]);
    }
}
