//! Who may call what, in one place: the lowest level each method needs ([`need`]), the
//! methods this server does not offer ([`is_unsupported`]), and whether a session owns an
//! object ([`Principal::covers`]). Every `rpc_*` operation of `Core` checks both for every
//! object a call names.

use super::{Level, Owner, Principal, level_refused};
use crate::Result;

/// What a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Callable without a session.
    Anonymous,
    /// A session of at least this level.
    Level(Level),
}

use Level::*;
use Need::{Anonymous, Level as L};

/// Every method this server answers, with the lowest level that may call it.
const METHODS: &[(&str, Need)] = &[
    ("hello.world", Anonymous),
    ("auth", Anonymous),
    ("deauth", L(Mail)),
    ("hello.innerworld", L(Mail)),
    ("search", L(Account)),
    ("account.add", L(Reseller)),
    ("account.list", L(Reseller)),
    ("account.del", L(Reseller)),
    ("account.get", L(Account)),
    ("account.set", L(Account)),
    ("account.capabilities.get", L(Account)),
    ("account.capabilities.set", L(Account)),
    ("domain.capabilities.set", L(Account)),
    ("domain.add", L(Account)),
    ("domain.list", L(Account)),
    ("domain.del", L(Account)),
    ("domain.get", L(Domain)),
    ("domain.set", L(Domain)),
    ("domain.validate.spf", L(Domain)),
    ("domain.deletelist.search", L(Domain)),
    ("domain.deletelist.delete", L(Domain)),
    ("mail.passwordreset.listmethods", L(Domain)),
    ("mail.passwordreset.setpassword", Anonymous),
    ("mail.add", L(Domain)),
    ("mail.del", L(Domain)),
    ("mail.list", L(Domain)),
    ("mail.externaluid", L(Account)),
    ("mail.capabilities.set", L(Domain)),
    ("mail.get", L(Mail)),
    ("mail.capabilities.get", L(Mail)),
    ("mail.apppassword.list", L(Mail)),
    ("mail.apppassword.add", L(Mail)),
    ("mail.apppassword.del", L(Mail)),
    ("mail.blacklist.list", L(Mail)),
    ("mail.blacklist.add", L(Mail)),
    ("mail.blacklist.del", L(Mail)),
    ("mail.vacation.get", L(Mail)),
    ("mail.vacation.set", L(Mail)),
    ("mail.vacation.delete", L(Mail)),
    ("mail.spamprotect.get", L(Mail)),
    ("mail.spamprotect.set", L(Mail)),
    ("mail.backup.list", L(Mail)),
    ("mail.backup.import", L(Mail)),
    ("mail.set", L(Mail)),
    ("mailinglist.add", L(Account)),
    ("mailinglist.get", L(Account)),
    ("mailinglist.set", L(Account)),
    ("mailinglist.del", L(Account)),
    ("mailinglist.list", L(Account)),
    ("group.add", L(Account)),
    ("group.get", L(Account)),
    ("group.set", L(Account)),
    ("group.del", L(Account)),
    ("group.list", L(Account)),
];

/// Methods of mailbox.org's API that make no sense here (billing, OX contexts, EVAC,
/// external accounts, SMS): answered "not supported by this server".
const UNSUPPORTED: &[&str] = &["context.list", "mail.passwordreset.sendsms"];
const UNSUPPORTED_PREFIXES: &[&str] = &["account.invoice.", "evac.", "additionalmailaccount."];

/// What `method` needs; `None` for a method this server does not know.
pub fn need(method: &str) -> Option<Need> {
    METHODS.iter().find(|(m, _)| *m == method).map(|(_, n)| *n)
}

/// Every method this server answers.
pub fn methods() -> impl Iterator<Item = &'static str> {
    METHODS.iter().map(|(m, _)| *m)
}

pub fn is_unsupported(method: &str) -> bool {
    UNSUPPORTED.contains(&method) || UNSUPPORTED_PREFIXES.iter().any(|p| method.starts_with(p))
}

/// Fields a mail user's own session may change with `mail.set` (the rest, such as the plan,
/// aliases, forwards or the active state, are the domain's to set).
pub const MAIL_SELF_FIELDS: &[&str] = &[
    "password",
    "first_name",
    "last_name",
    "language",
    "title",
    "birthday",
    "position",
    "department",
    "company",
    "street",
    "postal_code",
    "city",
    "phone",
    "fax",
    "cell_phone",
];

/// Refuses a session whose level is below what `method` needs.
pub fn check_level(principal: &Principal, method: &str) -> Result<()> {
    match need(method) {
        Some(Need::Level(l)) if principal.level() < l => Err(level_refused(&format!(
            "A session of level {} may not call {method} (it needs {} or higher)",
            principal.level().as_str(),
            l.as_str()
        ))),
        _ => Ok(()),
    }
}

impl Principal {
    /// Whether this session owns the object at `o`: an admin everything, a reseller its
    /// accounts and what is below them, an account its domains and their mail users, a
    /// domain its mail users, a mail user itself.
    pub fn covers(&self, o: &Owner) -> bool {
        match self {
            Principal::Admin(_) => true,
            Principal::Reseller(r) => o.reseller.as_ref() == Some(r),
            Principal::Account(a) => &o.account == a,
            Principal::Domain { domain, .. } => o.domain.as_ref() == Some(domain),
            Principal::Mail { user, .. } => o.user.as_ref() == Some(user),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AccountId, DomainId, LoginId};
    use super::*;
    use sealpost_store::model::ObjectId;

    struct Tree {
        admin: Principal,
        reseller: Principal,
        other_reseller: Principal,
        account: Principal,
        domain: Principal,
        mail: Principal,
        /// Objects: the account, its domain, its mail user; then another account's.
        objects: [Owner; 6],
    }

    fn tree() -> Tree {
        let r = LoginId::new();
        let (a, d, u) = (AccountId::new(), DomainId::new(), ObjectId::new());
        let (a2, d2, u2) = (AccountId::new(), DomainId::new(), ObjectId::new());
        let o = |a: &AccountId, d: Option<&DomainId>, u: Option<&ObjectId>, r: Option<&LoginId>| {
            Owner {
                reseller: r.cloned(),
                account: a.clone(),
                domain: d.cloned(),
                user: u.cloned(),
            }
        };
        Tree {
            admin: Principal::Admin(LoginId::new()),
            reseller: Principal::Reseller(r.clone()),
            other_reseller: Principal::Reseller(LoginId::new()),
            account: Principal::Account(a.clone()),
            domain: Principal::Domain {
                account: a.clone(),
                domain: d.clone(),
            },
            mail: Principal::Mail {
                account: a.clone(),
                domain: d.clone(),
                user: u.clone(),
            },
            objects: [
                o(&a, None, None, Some(&r)),
                o(&a, Some(&d), None, Some(&r)),
                o(&a, Some(&d), Some(&u), Some(&r)),
                o(&a2, None, None, None),
                o(&a2, Some(&d2), None, None),
                o(&a2, Some(&d2), Some(&u2), None),
            ],
        }
    }

    #[test]
    fn ownership_table() {
        let t = tree();
        // Rows: principal; columns: the six objects of `tree`.
        let table: [(&Principal, [bool; 6]); 6] = [
            (&t.admin, [true, true, true, true, true, true]),
            (&t.reseller, [true, true, true, false, false, false]),
            (&t.other_reseller, [false; 6]),
            (&t.account, [true, true, true, false, false, false]),
            (&t.domain, [false, true, true, false, false, false]),
            (&t.mail, [false, false, true, false, false, false]),
        ];
        for (p, row) in table {
            for (o, want) in t.objects.iter().zip(row) {
                assert_eq!(p.covers(o), want, "{p:?} on {o:?}");
            }
        }
    }

    #[test]
    fn levels_order_and_method_table() {
        assert!(Level::Admin > Level::Reseller && Level::Reseller > Level::Account);
        assert!(Level::Account > Level::Domain && Level::Domain > Level::Mail);
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Some(l));
        }
        assert_eq!(Level::parse("root"), None);
        let t = tree();
        assert!(check_level(&t.mail, "hello.innerworld").is_ok());
        assert!(check_level(&t.mail, "mail.get").is_ok());
        assert!(check_level(&t.mail, "mail.add").is_err());
        assert!(check_level(&t.domain, "mail.add").is_ok());
        assert!(check_level(&t.domain, "domain.add").is_err());
        assert!(check_level(&t.account, "account.add").is_err());
        assert!(check_level(&t.reseller, "account.add").is_ok());
        for m in methods() {
            assert!(check_level(&t.admin, m).is_ok(), "{m}");
            assert!(!is_unsupported(m), "{m}");
        }
        assert_eq!(need("auth"), Some(Need::Anonymous));
        assert_eq!(need("nope"), None);
        assert!(is_unsupported("account.invoice.list"));
        assert!(is_unsupported("evac.resetaccount"));
        assert!(is_unsupported("mail.passwordreset.sendsms"));
        assert!(!is_unsupported("mail.get"));
    }
}
