//! THREAD and UID THREAD (RFC 5256 §2.2): ORDEREDSUBJECT and REFERENCES over the messages
//! SEARCH would find, from the stored index (Message-ID, In-Reply-To, References, subject,
//! sent date). Trees can be as deep as a mailbox is long, so every walk here uses an
//! explicit stack rather than recursion.

use super::search::check_charset;
use crate::error::Result;
use crate::session::Session;
use crate::subject::base_subject;
use sealpost_imap_proto::{Data, StatusResponse, Thread, ThreadAlgorithm, ThreadCommand};
use std::collections::HashMap;

/// References of one message taken into account (the nearest ones): bounds the nodes made
/// per message.
const MAX_REFERENCES: usize = 32;
/// Parent-chain steps of one loop check; a longer chain is treated as a loop (link refused).
const MAX_ANCESTOR_WALK: usize = 10_000;

/// One message as threading sees it.
#[derive(Debug, Clone, Default)]
pub(crate) struct ThreadMessage {
    /// What the response names it by: sequence number or UID.
    pub id: u32,
    /// Sent date (Date header, else internal date), Unix ms.
    pub sent: i64,
    pub subject: String,
    pub reply: bool,
    pub message_id: Option<String>,
    /// References, or else the first In-Reply-To id: the chain of ancestors, oldest first.
    pub references: Vec<String>,
}

/// Siblings are ordered by sent date, then by mailbox order (`position`).
fn order(messages: &[ThreadMessage], a: usize, b: usize) -> std::cmp::Ordering {
    messages
        .get(a)
        .map(|m| m.sent)
        .cmp(&messages.get(b).map(|m| m.sent))
        .then(a.cmp(&b))
}

/// ORDEREDSUBJECT: messages grouped by base subject; in each group the earliest message is
/// the root and the others are its children, by date; groups ordered by their root's date.
/// `messages` are in mailbox order.
pub(crate) fn ordered_subject(messages: &[ThreadMessage]) -> Vec<Thread> {
    let mut order_: Vec<usize> = (0..messages.len()).collect();
    order_.sort_by(|&a, &b| {
        let (ma, mb) = (&messages[a], &messages[b]);
        ma.subject.cmp(&mb.subject).then(order(messages, a, b))
    });
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in order_ {
        match groups.last_mut() {
            Some(g)
                if g.first()
                    .is_some_and(|&f| messages[f].subject == messages[i].subject) =>
            {
                g.push(i)
            }
            _ => groups.push(vec![i]),
        }
    }
    groups.sort_by(|a, b| order(messages, a[0], b[0]));
    groups
        .into_iter()
        .map(|g| Thread {
            ids: vec![messages[g[0]].id],
            children: g[1..]
                .iter()
                .map(|&i| Thread {
                    ids: vec![messages[i].id],
                    children: Vec::new(),
                })
                .collect(),
        })
        .collect()
}

/// A node of the REFERENCES tree: a message, or a dummy standing for a referenced message
/// that is not among the threaded ones.
#[derive(Debug, Default, Clone)]
struct Node {
    message: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Tree<'a> {
    messages: &'a [ThreadMessage],
    nodes: Vec<Node>,
}

impl Tree<'_> {
    fn add(&mut self) -> usize {
        self.nodes.push(Node::default());
        self.nodes.len() - 1
    }

    fn parent(&self, n: usize) -> Option<usize> {
        self.nodes.get(n).and_then(|n| n.parent)
    }

    /// Whether `a` is `b` or one of its ancestors (or the chain is too long to tell).
    fn is_ancestor(&self, a: usize, b: usize) -> bool {
        // The usual case, parents seen before their replies: a node without children is
        // nobody's ancestor, and no walk is needed.
        if a != b && self.nodes.get(a).is_some_and(|n| n.children.is_empty()) {
            return false;
        }
        let mut cur = Some(b);
        for _ in 0..MAX_ANCESTOR_WALK {
            match cur {
                Some(c) if c == a => return true,
                Some(c) => cur = self.parent(c),
                None => return false,
            }
        }
        true
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.parent(child) {
            if let Some(node) = self.nodes.get_mut(p) {
                node.children.retain(|&c| c != child);
            }
            if let Some(node) = self.nodes.get_mut(child) {
                node.parent = None;
            }
        }
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.unlink(child);
        if let Some(node) = self.nodes.get_mut(child) {
            node.parent = Some(parent);
        }
        if let Some(node) = self.nodes.get_mut(parent) {
            node.children.push(child);
        }
    }

    fn is_dummy(&self, n: usize) -> bool {
        self.nodes.get(n).is_some_and(|n| n.message.is_none())
    }

    /// The message a node shows: its own, or for a dummy that of its first child.
    fn shown(&self, n: usize) -> Option<usize> {
        let node = self.nodes.get(n)?;
        node.message.or_else(|| {
            node.children
                .first()
                .and_then(|&c| self.nodes.get(c)?.message)
        })
    }

    fn cmp(&self, a: usize, b: usize) -> std::cmp::Ordering {
        match (self.shown(a), self.shown(b)) {
            (Some(x), Some(y)) => order(self.messages, x, y),
            (x, y) => x.is_none().cmp(&y.is_none()),
        }
    }

    /// Every node under `roots`, children before their parent.
    fn post_order(&self, roots: &[usize]) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut visited = vec![false; self.nodes.len()];
        let mut stack: Vec<(usize, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
        while let Some((n, expanded)) = stack.pop() {
            if expanded {
                out.push(n);
                continue;
            }
            if visited.get(n).copied().unwrap_or(true) {
                continue;
            }
            if let Some(v) = visited.get_mut(n) {
                *v = true;
            }
            stack.push((n, true));
            if let Some(node) = self.nodes.get(n) {
                stack.extend(node.children.iter().rev().map(|&c| (c, false)));
            }
        }
        out
    }

    /// Sorts every set of siblings, and `roots`, by date (a dummy by its first child's).
    fn sort(&mut self, roots: &mut [usize]) {
        for n in self.post_order(roots) {
            let mut children = std::mem::take(&mut self.nodes[n].children);
            children.sort_by(|&a, &b| self.cmp(a, b));
            self.nodes[n].children = children;
        }
        roots.sort_by(|&a, &b| self.cmp(a, b));
    }

    /// Step 3: dummies without children go; other dummies give their children to their
    /// parent, except at the top where a dummy with several children stays.
    fn prune(&mut self, roots: Vec<usize>) -> Vec<usize> {
        for n in self.post_order(&roots) {
            let children = std::mem::take(&mut self.nodes[n].children);
            let mut kept = Vec::with_capacity(children.len());
            for c in children {
                if self.is_dummy(c) {
                    let grand = std::mem::take(&mut self.nodes[c].children);
                    for &g in &grand {
                        self.nodes[g].parent = Some(n);
                    }
                    kept.extend(grand);
                } else {
                    kept.push(c);
                }
            }
            self.nodes[n].children = kept;
        }
        let mut out = Vec::with_capacity(roots.len());
        for r in roots {
            if !self.is_dummy(r) {
                out.push(r);
                continue;
            }
            match self.nodes[r].children.as_slice() {
                [] => {}
                [only] => {
                    let only = *only;
                    self.nodes[only].parent = None;
                    self.nodes[r].children.clear();
                    out.push(only);
                }
                _ => out.push(r),
            }
        }
        out
    }

    /// Step 5: top-level threads with the same base subject are gathered.
    fn group_by_subject(&mut self, roots: Vec<usize>) -> Vec<usize> {
        let subject = |t: &Tree<'_>, r: usize| -> Option<(String, bool)> {
            let m = t.messages.get(t.shown(r)?)?;
            (!m.subject.is_empty()).then(|| (m.subject.clone(), m.reply))
        };
        let mut table: HashMap<String, usize> = HashMap::new();
        for &r in &roots {
            let Some((key, reply)) = subject(self, r) else {
                continue;
            };
            match table.get(&key).copied() {
                None => {
                    table.insert(key, r);
                }
                Some(t) => {
                    let t_reply = subject(self, t).is_some_and(|(_, reply)| reply);
                    if (self.is_dummy(r) && !self.is_dummy(t)) || (t_reply && !reply) {
                        table.insert(key, r);
                    }
                }
            }
        }
        // Roots by position; a merged root leaves `None`, a new dummy takes its table
        // entry's place.
        let mut slots: Vec<Option<usize>> = roots.iter().map(|&r| Some(r)).collect();
        let mut slot_of: HashMap<usize, usize> =
            roots.iter().enumerate().map(|(i, &r)| (r, i)).collect();
        for &r in &roots {
            let Some((key, reply)) = subject(self, r) else {
                continue;
            };
            let Some(t) = table.get(&key).copied() else {
                continue;
            };
            if t == r {
                continue;
            }
            let t_reply = subject(self, t).is_some_and(|(_, reply)| reply);
            let (r_dummy, t_dummy) = (self.is_dummy(r), self.is_dummy(t));
            if r_dummy && t_dummy {
                let moved = std::mem::take(&mut self.nodes[r].children);
                for c in moved {
                    self.nodes[c].parent = None;
                    self.link(t, c);
                }
            } else if t_dummy || (reply && !t_reply) {
                self.link(t, r);
            } else if r_dummy {
                // Cannot happen with the table rules above, handled for completeness.
                self.link(r, t);
                if let Some(&i) = slot_of.get(&t) {
                    slots[i] = Some(r);
                    slot_of.insert(r, i);
                }
                table.insert(key, r);
                continue;
            } else {
                let dummy = self.add();
                self.link(dummy, t);
                self.link(dummy, r);
                if let Some(&i) = slot_of.get(&t) {
                    slots[i] = Some(dummy);
                    slot_of.insert(dummy, i);
                }
                table.insert(key, dummy);
            }
            if let Some(&i) = slot_of.get(&r) {
                slots[i] = None;
            }
        }
        slots.into_iter().flatten().collect()
    }

    /// The response form of the trees under `roots`.
    fn output(&mut self, roots: &[usize]) -> Vec<Thread> {
        let mut built: Vec<Option<Thread>> = vec![None; self.nodes.len()];
        for n in self.post_order(roots) {
            let children = self.nodes[n]
                .children
                .iter()
                .filter_map(|&c| built.get_mut(c).and_then(Option::take))
                .collect();
            let ids = self.nodes[n]
                .message
                .and_then(|m| self.messages.get(m))
                .map(|m| m.id)
                .into_iter()
                .collect();
            built[n] = Some(Thread { ids, children });
        }
        roots
            .iter()
            .filter_map(|&r| built.get_mut(r).and_then(Option::take))
            .collect()
    }
}

/// REFERENCES (RFC 5256 §2.2, after Jamie Zawinski's algorithm). `messages` are in mailbox
/// order.
pub(crate) fn references(messages: &[ThreadMessage]) -> Vec<Thread> {
    let mut tree = Tree {
        messages,
        nodes: Vec::with_capacity(messages.len() * 2),
    };
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, m) in messages.iter().enumerate() {
        // (1A) The message's node; a missing or duplicate Message-ID gets a node of its own.
        let node = match m.message_id.as_deref() {
            Some(id) => match by_id.get(id).copied() {
                Some(n) if tree.is_dummy(n) => n,
                Some(_) => tree.add(),
                None => {
                    let n = tree.add();
                    by_id.insert(id, n);
                    n
                }
            },
            None => tree.add(),
        };
        tree.nodes[node].message = Some(i);
        // (1B) The references linked in order, where they are not linked yet and no loop
        // results.
        let skip = m.references.len().saturating_sub(MAX_REFERENCES);
        let mut previous: Option<usize> = None;
        for id in m.references.iter().skip(skip) {
            let n = match by_id.get(id.as_str()).copied() {
                Some(n) => n,
                None => {
                    let n = tree.add();
                    by_id.insert(id, n);
                    n
                }
            };
            if let Some(p) = previous
                && tree.parent(n).is_none()
                && !tree.is_ancestor(n, p)
                && !tree.is_ancestor(p, n)
            {
                tree.link(p, n);
            }
            previous = Some(n);
        }
        // (1C) The last reference becomes the parent (replacing an earlier guess), unless
        // that makes a loop.
        if let Some(p) = previous
            && !tree.is_ancestor(node, p)
        {
            tree.link(p, node);
        }
    }
    // (2) The roots, (3) pruned, (4) sorted, (5) gathered by subject, (6) sorted again.
    let roots: Vec<usize> = (0..tree.nodes.len())
        .filter(|&n| tree.parent(n).is_none())
        .collect();
    let mut roots = tree.prune(roots);
    tree.sort(&mut roots);
    let mut roots = tree.group_by_subject(roots);
    tree.sort(&mut roots);
    tree.output(&roots)
}

impl Session {
    pub(crate) async fn op_thread(
        &mut self,
        tag: &str,
        cmd: ThreadCommand,
    ) -> Result<StatusResponse> {
        if let Some(refused) = check_charset(tag, Some(&cmd.charset)) {
            return Ok(refused);
        }
        let found = match self.search_indexes(tag, &cmd.search).await? {
            Ok(found) => found,
            Err(refused) => return Ok(refused),
        };
        let fields = self.sort_fields(&found, true).await?;
        let Some(selected) = self.selected.as_ref() else {
            return Ok(StatusResponse::bad(tag, "No mailbox selected"));
        };
        let messages: Vec<ThreadMessage> = found
            .iter()
            .filter_map(|&i| {
                let m = selected.messages.get(i)?;
                let f = fields.get(&m.uid);
                let base = base_subject(f.map_or("", |f| f.subject.as_str()));
                let references = match f {
                    Some(f) if !f.references.is_empty() => f.references.clone(),
                    Some(f) => f.in_reply_to.iter().take(1).cloned().collect(),
                    None => Vec::new(),
                };
                Some(ThreadMessage {
                    id: if cmd.uid {
                        m.uid
                    } else {
                        u32::try_from(i + 1).ok()?
                    },
                    sent: f.map_or(m.idate, |f| f.sent),
                    subject: base.key,
                    reply: base.reply,
                    message_id: f.and_then(|f| f.message_id.clone()),
                    references,
                })
            })
            .collect();
        // Threading a large mailbox is CPU work: off the async runtime.
        let algorithm = cmd.algorithm;
        let threads = tokio::task::spawn_blocking(move || match algorithm {
            ThreadAlgorithm::OrderedSubject => ordered_subject(&messages),
            ThreadAlgorithm::References => references(&messages),
        })
        .await
        .map_err(|e| sealpost_core::Error::Internal(format!("threading failed: {e}")))?;
        self.push(Data::Thread(threads));
        Ok(StatusResponse::ok(tag, "THREAD completed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealpost_imap_proto::{EncodeOptions, Response};

    fn msg(id: u32, sent: i64, subject: &str, mid: &str, refs: &[&str]) -> ThreadMessage {
        let base = base_subject(subject);
        ThreadMessage {
            id,
            sent,
            subject: base.key,
            reply: base.reply,
            message_id: (!mid.is_empty()).then(|| format!("<{mid}>")),
            references: refs.iter().map(|r| format!("<{r}>")).collect(),
        }
    }

    fn wire(threads: Vec<Thread>) -> String {
        let mut out = Vec::new();
        Response::from(Data::Thread(threads)).encode_into(&mut out, EncodeOptions::default());
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn ordered_subject_groups_by_base_subject() {
        let messages = vec![
            msg(1, 100, "Lunch", "a", &[]),
            msg(2, 50, "Budget", "b", &[]),
            msg(3, 300, "Re: Lunch", "c", &[]),
            msg(4, 200, "Re: Budget", "d", &[]),
            msg(5, 250, "[team] Re: lunch", "e", &[]),
            msg(6, 10, "Other", "f", &[]),
        ];
        assert_eq!(
            wire(ordered_subject(&messages)),
            "* THREAD (6)(2 4)(1 (5)(3))\r\n"
        );
    }

    #[test]
    fn references_builds_trees() {
        // 1 <- 2 <- 3, 2 <- 4; 5 replies to a message we do not have (dummy, pruned);
        // 6 and 7 share a subject without references (gathered under a dummy).
        let messages = vec![
            msg(1, 100, "Plan", "p1", &[]),
            msg(2, 200, "Re: Plan", "p2", &["p1"]),
            msg(3, 300, "Re: Plan", "p3", &["p1", "p2"]),
            msg(4, 250, "Re: Plan", "p4", &["p1", "p2"]),
            msg(5, 50, "Re: Lost", "l2", &["missing"]),
            msg(6, 400, "Party", "x1", &[]),
            msg(7, 500, "Party", "x2", &[]),
            msg(8, 600, "Re: Party", "x3", &[]),
        ];
        assert_eq!(
            wire(references(&messages)),
            "* THREAD (5)(1 2 (4)(3))((6)(7)(8))\r\n"
        );
    }

    #[test]
    fn deep_chains_in_either_order() {
        const N: u32 = 20_000;
        // Replies after their parents: one chain 1 2 3 ... N.
        let forward: Vec<ThreadMessage> = (1..=N)
            .map(|i| {
                let parent = format!("m{}", i - 1);
                let refs: Vec<&str> = if i > 1 { vec![parent.as_str()] } else { vec![] };
                msg(i, i64::from(i), "Chain", &format!("m{i}"), &refs)
            })
            .collect();
        let expected: String = (1..=N).map(|i| i.to_string()).collect::<Vec<_>>().join(" ");
        assert_eq!(
            wire(references(&forward)),
            format!("* THREAD ({expected})\r\n")
        );
        // Replies before their parents (mailbox order reversed): the same chain.
        let backward: Vec<ThreadMessage> = forward.iter().rev().cloned().collect();
        assert_eq!(
            wire(references(&backward)),
            format!("* THREAD ({expected})\r\n")
        );
    }

    #[test]
    fn references_survives_loops_and_duplicates() {
        let messages = vec![
            msg(1, 100, "A", "a", &["b"]),
            msg(2, 200, "B", "b", &["a"]),
            msg(3, 300, "C", "a", &[]),
            msg(4, 400, "D", "", &["a"]),
        ];
        // 1 hangs under "b", which 2 then fills; 2 naming "a" as its parent would make a
        // loop and is refused. 3 repeats Message-ID "a" and gets a node of its own; 4 (no
        // Message-ID) hangs under the first "a", message 1.
        assert_eq!(wire(references(&messages)), "* THREAD (2 1 4)(3)\r\n");
    }
}
