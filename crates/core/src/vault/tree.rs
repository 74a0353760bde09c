//! The users' folder trees, as passbolt's `folders_relations`: every user with access to a
//! resource or folder places it in a tree of their own (`folder_parent_id` is per user). The
//! rules of how trees change, as pure functions over relation rows: where an item goes for a
//! user who gains access to it (the organisation the others gave it, when that user can see
//! the folder), what a move changes in every tree, and that no tree ever holds a cycle. The
//! store applies the [`TreeChange`]s they compute.

use sealpost_store::model::Millis;
use sealpost_store::vault::{RelationRow, TreeChange, VaultId};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Where `item` goes in the tree of `user`, who gains access to it (passbolt's "add item to
/// user tree"): among the folders `item` is in, in the trees of the users who already have
/// it (`places`), those that `user` has in their own tree (`user_folders`); the folder the
/// operator placed it in first, then the folder most users placed it in, then the oldest
/// placement. None of them: the root.
pub fn placement(
    places: &[RelationRow],
    user_folders: &HashSet<VaultId>,
    operator: &VaultId,
) -> Option<VaultId> {
    // folder -> (in the operator's tree, users, oldest placement)
    let mut candidates: BTreeMap<&VaultId, (bool, usize, Millis)> = BTreeMap::new();
    for p in places {
        let Some(parent) = &p.folder_parent_id else {
            continue;
        };
        if !user_folders.contains(parent) {
            continue;
        }
        let c = candidates.entry(parent).or_insert((false, 0, p.created));
        c.0 |= &p.user == operator;
        c.1 += 1;
        c.2 = c.2.min(p.created);
    }
    candidates
        .into_iter()
        .max_by(|a, b| {
            let (fa, (oa, na, ca)) = a;
            let (fb, (ob, nb, cb)) = b;
            oa.cmp(ob)
                .then(na.cmp(nb))
                .then(cb.cmp(ca))
                .then(fb.cmp(fa))
        })
        .map(|(f, _)| f.clone())
}

/// The folders of `parents` (one user's tree: folder -> its parent) that are on a cycle. A
/// tree never keeps one: a move that would make one in the operator's tree is refused, and in
/// another user's tree the moved item goes to their root instead.
pub fn on_cycle(parents: &HashMap<VaultId, Option<VaultId>>) -> Vec<VaultId> {
    let mut out = Vec::new();
    for start in parents.keys() {
        // Walk up at most as many steps as there are folders: a longer walk loops.
        let mut at = parents.get(start).cloned().flatten();
        let mut steps = 0;
        while let Some(cur) = at {
            if &cur == start {
                out.push(start.clone());
                break;
            }
            steps += 1;
            if steps > parents.len() {
                break;
            }
            at = parents.get(&cur).cloned().flatten();
        }
    }
    out.sort();
    out
}

/// What moving `item` into `target` (`None`: the root) changes, as passbolt's "move item in
/// user tree": to the root, every user who had it where the operator had it (`original`)
/// gets it at their root too; into a folder, every user who has both the item and the folder
/// gets it there, and the users who had it in a folder that one of them had it in get it at
/// their root (the organisation stays common). `relations` are every user's placements of
/// `item`; `with_target` the users who have `target` in their tree.
pub fn move_changes(
    item: &VaultId,
    relations: &[RelationRow],
    original: Option<&VaultId>,
    target: Option<&VaultId>,
    with_target: &HashSet<VaultId>,
) -> Vec<(VaultId, VaultId, Option<VaultId>)> {
    let mut out: BTreeMap<VaultId, Option<VaultId>> = BTreeMap::new();
    match target {
        None => {
            if let Some(o) = original {
                for r in relations
                    .iter()
                    .filter(|r| r.folder_parent_id.as_ref() == Some(o))
                {
                    out.insert(r.user.clone(), None);
                }
            }
        }
        Some(t) => {
            let seeing: Vec<&RelationRow> = relations
                .iter()
                .filter(|r| with_target.contains(&r.user))
                .collect();
            let conflicted: HashSet<&VaultId> = seeing
                .iter()
                .filter_map(|r| r.folder_parent_id.as_ref())
                .filter(|p| *p != t)
                .collect();
            for r in relations {
                if r.folder_parent_id
                    .as_ref()
                    .is_some_and(|p| conflicted.contains(p))
                {
                    out.insert(r.user.clone(), None);
                }
            }
            for r in seeing {
                out.insert(r.user.clone(), Some(t.clone()));
            }
        }
    }
    // Only what changes.
    out.into_iter()
        .filter(|(u, p)| {
            relations
                .iter()
                .any(|r| &r.user == u && r.folder_parent_id.as_ref() != p.as_ref())
        })
        .map(|(u, p)| (item.clone(), u, p))
        .collect()
}

/// Adds the placements of `items` for `user`, who gains access to them: each where
/// [`placement`] puts it, given every user's placements of those items (`places`, by item)
/// and the folders `user` will have (their tree and the folders among `items`); items that
/// would close a cycle go to the root.
pub fn add_for_user(
    change: &mut TreeChange,
    user: &VaultId,
    items: &[(sealpost_store::vault::Aco, VaultId)],
    places: &HashMap<VaultId, Vec<RelationRow>>,
    user_folders: &HashSet<VaultId>,
    operator: &VaultId,
    now: Millis,
) {
    let mut folders = user_folders.clone();
    folders.extend(
        items
            .iter()
            .filter(|(a, _)| *a == sealpost_store::vault::Aco::Folder)
            .map(|(_, id)| id.clone()),
    );
    let mut rows: Vec<RelationRow> = items
        .iter()
        .map(|(aco, id)| RelationRow {
            aco: *aco,
            item: id.clone(),
            user: user.clone(),
            folder_parent_id: placement(
                places.get(id).map(Vec::as_slice).unwrap_or_default(),
                &folders,
                operator,
            )
            .filter(|p| p != id),
            created: now,
            modified: now,
        })
        .collect();
    // Only the new folders can close a cycle among themselves.
    let parents: HashMap<VaultId, Option<VaultId>> = rows
        .iter()
        .filter(|r| r.aco == sealpost_store::vault::Aco::Folder)
        .map(|r| (r.item.clone(), r.folder_parent_id.clone()))
        .collect();
    let cyclic: HashSet<VaultId> = on_cycle(&parents).into_iter().collect();
    for r in &mut rows {
        if cyclic.contains(&r.item) {
            r.folder_parent_id = None;
        }
    }
    change.add.extend(rows);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_store::vault::Aco;

    fn rel(
        item: &VaultId,
        user: &VaultId,
        parent: Option<&VaultId>,
        created: Millis,
    ) -> RelationRow {
        RelationRow {
            aco: Aco::Resource,
            item: item.clone(),
            user: user.clone(),
            folder_parent_id: parent.cloned(),
            created,
            modified: created,
        }
    }

    fn ids<const N: usize>() -> [VaultId; N] {
        std::array::from_fn(|_| VaultId::new())
    }

    #[test]
    fn placement_prefers_operator_then_usage_then_age() {
        let [item, op, u1, u2, u3, f1, f2, f3] = ids();
        let places = vec![
            rel(&item, &u1, Some(&f1), 5),
            rel(&item, &u2, Some(&f1), 6),
            rel(&item, &u3, Some(&f2), 1),
            rel(&item, &op, Some(&f3), 9),
        ];
        let all: HashSet<VaultId> = [f1.clone(), f2.clone(), f3.clone()].into();
        assert_eq!(placement(&places, &all, &op), Some(f3.clone()));
        // The operator's folder is not in the user's tree: the most used one.
        let some: HashSet<VaultId> = [f1.clone(), f2.clone()].into();
        assert_eq!(placement(&places, &some, &op), Some(f1.clone()));
        // Equal use: the oldest placement.
        let places = vec![rel(&item, &u1, Some(&f1), 5), rel(&item, &u3, Some(&f2), 1)];
        assert_eq!(placement(&places, &some, &op), Some(f2.clone()));
        // Nothing the user can see, or only roots: the root.
        assert_eq!(placement(&places, &HashSet::new(), &op), None);
        assert_eq!(placement(&[rel(&item, &u1, None, 1)], &all, &op), None);
    }

    #[test]
    fn cycles_are_found() {
        let [a, b, c, d] = ids();
        let tree: HashMap<_, _> = [
            (a.clone(), Some(b.clone())),
            (b.clone(), Some(a.clone())),
            (c.clone(), Some(a.clone())),
            (d.clone(), None),
        ]
        .into();
        let mut want = vec![a.clone(), b.clone()];
        want.sort();
        assert_eq!(on_cycle(&tree), want);
        let ok: HashMap<_, _> = [(a.clone(), Some(b.clone())), (b.clone(), None)].into();
        assert!(on_cycle(&ok).is_empty());
        let own: HashMap<_, _> = [(d.clone(), Some(d.clone()))].into();
        assert_eq!(on_cycle(&own), vec![d]);
    }

    #[test]
    fn moves_keep_a_common_organisation() {
        let [item, op, u1, u2, f, g, t] = ids();
        let relations = vec![
            rel(&item, &op, Some(&f), 1),
            rel(&item, &u1, Some(&f), 1),
            rel(&item, &u2, Some(&g), 1),
        ];
        // To the root: everyone who had it where the operator had it.
        let mut out = move_changes(&item, &relations, Some(&f), None, &HashSet::new());
        out.sort();
        let mut want = vec![
            (item.clone(), op.clone(), None),
            (item.clone(), u1.clone(), None),
        ];
        want.sort();
        assert_eq!(out, want);
        // Into t, seen by the operator and u2: both get it there; u1, who had it in f where
        // the operator had it, gets it at the root.
        let seeing: HashSet<VaultId> = [op.clone(), u2.clone()].into();
        let mut out = move_changes(&item, &relations, Some(&f), Some(&t), &seeing);
        out.sort();
        let mut want = vec![
            (item.clone(), op.clone(), Some(t.clone())),
            (item.clone(), u1.clone(), None),
            (item.clone(), u2.clone(), Some(t.clone())),
        ];
        want.sort();
        assert_eq!(out, want);
        // Nothing changes for who has it there already.
        let there = vec![rel(&item, &op, Some(&t), 1)];
        assert!(move_changes(&item, &there, Some(&t), Some(&t), &[op.clone()].into()).is_empty());
    }

    #[test]
    fn added_items_follow_the_others_and_never_loop() {
        let [user, op, other, a, b, r] = ids();
        // Others have b in a and a in b (inconsistent trees), and r in a.
        let mut places: HashMap<VaultId, Vec<RelationRow>> = HashMap::new();
        places.insert(a.clone(), vec![rel(&a, &other, Some(&b), 1)]);
        places.insert(b.clone(), vec![rel(&b, &op, Some(&a), 1)]);
        places.insert(r.clone(), vec![rel(&r, &other, Some(&a), 1)]);
        let mut change = TreeChange::default();
        add_for_user(
            &mut change,
            &user,
            &[
                (Aco::Folder, a.clone()),
                (Aco::Folder, b.clone()),
                (Aco::Resource, r.clone()),
            ],
            &places,
            &HashSet::new(),
            &op,
            7,
        );
        let got: HashMap<VaultId, Option<VaultId>> = change
            .add
            .iter()
            .map(|x| (x.item.clone(), x.folder_parent_id.clone()))
            .collect();
        assert_eq!(got[&a], None);
        assert_eq!(got[&b], None);
        assert_eq!(got[&r], Some(a.clone()));
        assert!(change.add.iter().all(|x| x.user == user && x.created == 7));
    }
}
