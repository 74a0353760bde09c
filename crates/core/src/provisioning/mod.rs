//! The provisioning model behind the JSON-RPC API (mailbox.org's): API logins, customer
//! accounts, their domains and the mail users of each domain, and who may touch what.
//!
//! The tree: an admin login sees everything; a reseller login owns the accounts it made; an
//! account owns its domains; a domain owns the mail users whose main address is in it; a
//! mail user is itself. Every session is a [`Principal`] at one [`Level`]; every object a
//! call names is placed in the tree as an [`Owner`] and checked with
//! [`Principal::covers`] (`access.rs`) before anything is read or changed. A mail user
//! made here is an ordinary Sealpost user (IMAP, POP3, LMTP, the REST API see it) with a
//! row of its own beside it (`rpc_mail`).

mod access;
mod accounts;
mod backup;
mod blacklist;
mod capabilities;
mod deletelist;
mod domains;
mod fanout;
mod features;
mod fields;
mod forwards;
mod lists;
mod logins;
mod mail;
mod passwordreset;
mod plans;
mod search;
mod spamprotect;
mod spf;

pub use access::{MAIL_SELF_FIELDS, Need, check_level, is_unsupported, methods, need};
pub use accounts::{AccountChange, AccountView, NewAccount, date};
pub use backup::{ImportOutcome, RestorePoint};
pub use blacklist::BLACKLIST_FILTER;
pub use capabilities::{CAPABILITIES, CAPABILITY_OFF_ERROR, Exceptions};
pub use deletelist::{DELETED_KEEP_MS, DeletedMail};
pub use domains::{DomainView, NewDomain};
pub use fanout::{FanOut, list_headers, list_id};
pub use features::{AppPassword, NewAppPassword, Vacation};
pub use fields::{ACCOUNT_FIELDS, FieldKind, MAIL_FIELDS};
pub use forwards::FORWARD_FILTER;
pub use lists::{
    GroupChange, GroupItem, GroupView, MailingListChange, MailingListItem, MailingListView,
};
pub use logins::{AuthOutcome, SESSION_TTL_MS};
pub use mail::{MailChange, MailListItem, MailListQuery, MailView, NewMail, sort_field};
pub use passwordreset::TEMPORARY_PASSWORD;
pub use plans::{AccountPlan, MailPlan, PlanConfig};
pub use sealpost_store::provisioning::{AccountId, DomainId, LoginId, MailSort};
pub use search::SearchResult;
pub use spamprotect::SpamProtectChange;
pub use spf::SpfCheck;

use crate::Error;
use sealpost_store::model::ObjectId;

/// A login's level, highest first: `admin` > `reseller` > `account` > `domain` > `mail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Mail,
    Domain,
    Account,
    Reseller,
    Admin,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Admin,
        Level::Reseller,
        Level::Account,
        Level::Domain,
        Level::Mail,
    ];

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Admin => "admin",
            Level::Reseller => "reseller",
            Level::Account => "account",
            Level::Domain => "domain",
            Level::Mail => "mail",
        }
    }
}

/// Who a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Admin(LoginId),
    Reseller(LoginId),
    Account(AccountId),
    Domain {
        account: AccountId,
        domain: DomainId,
    },
    Mail {
        account: AccountId,
        domain: DomainId,
        user: ObjectId,
    },
}

impl Principal {
    pub fn level(&self) -> Level {
        match self {
            Principal::Admin(_) => Level::Admin,
            Principal::Reseller(_) => Level::Reseller,
            Principal::Account(_) => Level::Account,
            Principal::Domain { .. } => Level::Domain,
            Principal::Mail { .. } => Level::Mail,
        }
    }

    /// The id stored with the session.
    fn id_str(&self) -> &str {
        match self {
            Principal::Admin(l) | Principal::Reseller(l) => l.as_str(),
            Principal::Account(a) => a.as_str(),
            Principal::Domain { domain, .. } => domain.as_str(),
            Principal::Mail { user, .. } => user.as_str(),
        }
    }
}

/// Where an object sits in the tree: an account (with its reseller), a domain of it, or a
/// mail user of that domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub reseller: Option<LoginId>,
    pub account: AccountId,
    pub domain: Option<DomainId>,
    pub user: Option<ObjectId>,
}

/// `NotFound` for an object the caller does not own, worded as for one that does not
/// exist: another tenant's names are not confirmed.
fn not_found(what: &str, name: &str) -> Error {
    Error::not_found(format!("{what} {name:?} does not exist"))
}

/// The error of a level that may not call a method (the API's stable code for it).
pub const LEVEL_ERROR: &str = "LevelError";
/// The error of a missing, unknown or expired Auth-ID.
pub const AUTH_ID_ERROR: &str = "AuthIdInvalid";
/// The error of a plan limit reached.
pub const PLAN_LIMIT_ERROR: &str = "PlanLimitError";
/// The error of a DNS lookup that got no answer (try again later).
pub const DNS_ERROR: &str = "DnsError";
/// The error of a domain that still has mail users.
pub const NOT_EMPTY_ERROR: &str = "NotEmptyError";

fn level_refused(what: &str) -> Error {
    Error::Forbidden {
        message: what.to_string(),
        code: LEVEL_ERROR,
    }
}
