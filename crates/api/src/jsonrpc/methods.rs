//! The methods: each reads its parameters (by mailbox.org's names), calls `core` with the
//! session's principal and shapes the answer. Which level may call a method, and which
//! objects a session may name, is `core`'s to decide (`provisioning::access`).

use super::Call;
use super::error::{METHOD_NOT_FOUND, RpcError, RpcResult};
use super::params::Params;
use sealpost_core::AuthMeta;
use sealpost_core::provisioning::{
    self as prov, ACCOUNT_FIELDS, AccountChange, GroupChange, MAIL_FIELDS, MailChange,
    MailListQuery, MailingListChange, Need, NewAccount, NewDomain, NewMail, Principal,
    SpamProtectChange,
};
use serde::Serialize;
use serde_json::{Value, json};

/// Most aliases or forwards one call may name.
const MAX_LIST: usize = 1000;

fn to_value<T: Serialize>(v: T) -> RpcResult<Value> {
    serde_json::to_value(v).map_err(|e| {
        tracing::error!(error = %e, "cannot serialise a JSON-RPC answer");
        RpcError::new(super::error::INTERNAL_ERROR, "Internal error")
    })
}

fn names(spec: &'static [(&'static str, prov::FieldKind)]) -> impl Iterator<Item = &'static str> {
    spec.iter().map(|(n, _)| *n)
}

/// mailbox.org's `group_id`: an integer.
fn group_id(p: &Params) -> RpcResult<i64> {
    p.opt_i64("group_id")?
        .ok_or_else(|| RpcError::invalid_params("missing parameter \"group_id\""))
}

fn meta() -> AuthMeta {
    AuthMeta::new("JSON-RPC", None, None)
}

impl Call<'_> {
    pub(super) async fn dispatch(&self, method: &str, p: Params) -> RpcResult<Value> {
        if prov::is_unsupported(method) {
            return Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("{method}: not supported by this server"),
            ));
        }
        let need = prov::need(method).ok_or_else(|| {
            RpcError::new(METHOD_NOT_FOUND, format!("Method not found: {method}"))
        })?;
        let principal = match need {
            Need::Anonymous => None,
            Need::Level(_) => {
                let token = self.auth.ok_or_else(RpcError::auth_id)?;
                let principal = self.core.rpc_session(token).await?;
                prov::check_level(&principal, method)?;
                Some(principal)
            }
        };
        let Some(s) = principal else {
            return self.anonymous(method, p).await;
        };
        self.with_session(method, &s, p).await
    }

    async fn anonymous(&self, method: &str, p: Params) -> RpcResult<Value> {
        match method {
            "hello.world" => {
                p.allow(&[], &[])?;
                Ok(json!("Hello World!"))
            }
            "auth" => {
                p.allow(&["user", "pass"], &[])?;
                let user = p.str("user")?;
                let pass = p.str("pass")?;
                let out = self.core.rpc_auth(&user, &pass, &meta()).await?;
                Ok(json!({"session": out.session, "level": out.level.as_str()}))
            }
            "mail.passwordreset.setpassword" => {
                p.allow(&["mail", "token", "password"], &[])?;
                self.core
                    .rpc_passwordreset_setpassword(
                        &p.str("mail")?,
                        &p.str("token")?,
                        &p.str("password")?,
                        &meta(),
                    )
                    .await?;
                Ok(json!(true))
            }
            _ => Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("Method not found: {method}"),
            )),
        }
    }

    async fn with_session(&self, method: &str, s: &Principal, p: Params) -> RpcResult<Value> {
        let core = self.core;
        match method {
            "hello.innerworld" => {
                p.allow(&[], &[])?;
                Ok(json!("Hello Inner-World!"))
            }
            "deauth" => {
                p.allow(&[], &[])?;
                if let Some(t) = self.auth {
                    core.rpc_deauth(t).await?;
                }
                Ok(json!(true))
            }
            "search" => {
                p.allow(
                    &["query", "get_account_summary", "get_extended_mail_result"],
                    &[],
                )?;
                p.opt_bool("get_account_summary")?;
                p.opt_bool("get_extended_mail_result")?;
                to_value(core.rpc_search(s, &p.str("query")?).await?)
            }
            // ---- accounts ----
            "account.add" => {
                p.allow(
                    &["account", "password", "plan"],
                    &names(ACCOUNT_FIELDS).collect::<Vec<_>>(),
                )?;
                let new = NewAccount {
                    account: p.str("account")?,
                    password: p.str("password")?,
                    plan: p.str("plan")?,
                    fields: p.subset(names(ACCOUNT_FIELDS)),
                };
                core.rpc_account_add(s, new).await?;
                Ok(json!(true))
            }
            "account.get" => {
                p.allow(&["account"], &[])?;
                to_value(core.rpc_account_get(s, &p.str("account")?).await?)
            }
            "account.set" => {
                p.allow(
                    &["account", "password", "plan"],
                    &names(ACCOUNT_FIELDS).collect::<Vec<_>>(),
                )?;
                let change = AccountChange {
                    password: p.opt_str("password")?,
                    plan: p.opt_str("plan")?,
                    fields: p.subset(names(ACCOUNT_FIELDS)),
                };
                core.rpc_account_set(s, &p.str("account")?, change).await?;
                Ok(json!(true))
            }
            "account.del" => {
                p.allow(&["account"], &[])?;
                core.rpc_account_del(s, &p.str("account")?).await?;
                Ok(json!(true))
            }
            "account.list" => {
                p.allow(&["query", "extended_results"], &[])?;
                let extended = p.bool_or("extended_results", false)?;
                to_value(
                    core.rpc_account_list(s, p.opt_str("query")?.as_deref(), extended)
                        .await?,
                )
            }
            "account.capabilities.get" => {
                p.allow(&["account"], &[])?;
                to_value(
                    core.rpc_account_capabilities_get(s, &p.str("account")?)
                        .await?,
                )
            }
            "account.capabilities.set" => {
                p.allow(&["account", "capabilities", "exceptions"], &[])?;
                let caps = p.string_map("capabilities")?;
                let exceptions = p.list_map("exceptions", MAX_LIST)?;
                core.rpc_account_capabilities_set(s, &p.str("account")?, &caps, &exceptions)
                    .await?;
                Ok(json!(true))
            }
            // ---- domains ----
            "domain.capabilities.set" => {
                p.allow(&["domain", "capabilities", "exceptions"], &[])?;
                let caps = p.string_map("capabilities")?;
                let exceptions = p.list_map("exceptions", MAX_LIST)?;
                core.rpc_domain_capabilities_set(s, &p.str("domain")?, &caps, &exceptions)
                    .await?;
                Ok(json!(true))
            }
            "domain.deletelist.search" => {
                p.allow(&["domain"], &[])?;
                to_value(core.rpc_deletelist_search(s, &p.str("domain")?).await?)
            }
            "domain.deletelist.delete" => {
                p.allow(&["mail"], &[])?;
                core.rpc_deletelist_delete(s, &p.str("mail")?).await?;
                Ok(json!(true))
            }
            "domain.add" => {
                p.allow(&["account", "domain", "password", "memo"], &[])?;
                let new = NewDomain {
                    account: p.str("account")?,
                    domain: p.str("domain")?,
                    password: p.str("password")?,
                    memo: p.opt_str("memo")?,
                };
                core.rpc_domain_add(s, new).await?;
                Ok(json!(true))
            }
            "domain.get" => {
                p.allow(&["domain"], &[])?;
                to_value(core.rpc_domain_get(s, &p.str("domain")?).await?)
            }
            "domain.set" => {
                p.allow(&["domain", "password", "memo"], &[])?;
                core.rpc_domain_set(
                    s,
                    &p.str("domain")?,
                    p.opt_str("password")?.as_deref(),
                    p.opt_str("memo")?,
                )
                .await?;
                Ok(json!(true))
            }
            "domain.validate.spf" => {
                p.allow(&["domain"], &[])?;
                to_value(core.rpc_domain_validate_spf(s, &p.str("domain")?).await?)
            }
            "domain.del" => {
                p.allow(&["account", "domain"], &[])?;
                core.rpc_domain_del(s, &p.str("account")?, &p.str("domain")?)
                    .await?;
                Ok(json!(true))
            }
            "domain.list" => {
                p.allow(&["account", "filter"], &[])?;
                let list = core
                    .rpc_domain_list(s, &p.str("account")?, p.opt_str("filter")?.as_deref())
                    .await?;
                Ok(Value::Array(
                    list.into_iter()
                        .map(|(domain, n)| json!({"domain": domain, "count_mails": n}))
                        .collect(),
                ))
            }
            // ---- mail users ----
            "mail.add" => {
                p.allow(
                    &[
                        "mail",
                        "password",
                        "password_hash",
                        "plan",
                        "first_name",
                        "last_name",
                        "inboxsave",
                        "forwards",
                        "uid_extern",
                        "language",
                    ],
                    &names(MAIL_FIELDS).collect::<Vec<_>>(),
                )?;
                let new = NewMail {
                    mail: p.str("mail")?,
                    password: p.opt_str("password")?,
                    password_hash: p.opt_str("password_hash")?,
                    plan: p.str("plan")?,
                    first_name: p.opt_str("first_name")?.unwrap_or_default(),
                    last_name: p.opt_str("last_name")?.unwrap_or_default(),
                    uid_extern: p.opt_str("uid_extern")?,
                    language: p.opt_str("language")?,
                    forwards: p.opt_list("forwards", MAX_LIST)?.unwrap_or_default(),
                    inboxsave: p.bool_or("inboxsave", true)?,
                    fields: p.subset(names(MAIL_FIELDS)),
                };
                if new.password.is_none() && new.password_hash.is_none() {
                    return Err(RpcError::invalid_params(
                        "missing parameter \"password\" (or \"password_hash\")",
                    ));
                }
                core.rpc_mail_add(s, new).await?;
                Ok(json!(true))
            }
            "mail.get" => {
                p.allow(&["mail", "include_quota_usage"], &[])?;
                let usage = p.bool_or("include_quota_usage", false)?;
                to_value(core.rpc_mail_get(s, &p.str("mail")?, usage).await?)
            }
            "mail.set" => {
                p.allow(
                    &[
                        "mail",
                        "password",
                        "password_hash",
                        "plan",
                        "first_name",
                        "last_name",
                        "aliases",
                        "active",
                        "uid_extern",
                        "language",
                        "inboxsave",
                        "forwards",
                    ],
                    &names(MAIL_FIELDS).collect::<Vec<_>>(),
                )?;
                let change = MailChange {
                    password: p.opt_str("password")?,
                    password_hash: p.opt_str("password_hash")?,
                    plan: p.opt_str("plan")?,
                    first_name: p.opt_str("first_name")?,
                    last_name: p.opt_str("last_name")?,
                    aliases: p.opt_list("aliases", MAX_LIST)?,
                    active: p.opt_bool("active")?,
                    uid_extern: p.opt_str("uid_extern")?,
                    language: p.opt_str("language")?,
                    forwards: p.opt_list("forwards", MAX_LIST)?,
                    inboxsave: p.opt_bool("inboxsave")?,
                    fields: p.subset(names(MAIL_FIELDS)),
                };
                core.rpc_mail_set(s, &p.str("mail")?, change, &meta())
                    .await?;
                Ok(json!(true))
            }
            "mail.del" => {
                p.allow(&["mail"], &[])?;
                core.rpc_mail_del(s, &p.str("mail")?).await?;
                Ok(json!(true))
            }
            "mail.list" => {
                p.allow(
                    &[
                        "domain",
                        "details",
                        "page_size",
                        "page",
                        "sort_field",
                        "sort_order",
                    ],
                    &[],
                )?;
                let sort = match p.opt_str("sort_field")? {
                    Some(f) => prov::sort_field(&f)?,
                    None => prov::MailSort::Mail,
                };
                let descending = match p.opt_str("sort_order")?.as_deref() {
                    None | Some("asc") => false,
                    Some("desc") => true,
                    Some(_) => {
                        return Err(RpcError::invalid_params(
                            "sort_order must be \"asc\" or \"desc\"",
                        ));
                    }
                };
                let q = MailListQuery {
                    domain: p.str("domain")?,
                    details: p.bool_or("details", false)?,
                    page_size: p.opt_i64("page_size")?,
                    page: p.opt_i64("page")?,
                    sort,
                    descending,
                };
                to_value(core.rpc_mail_list(s, &q).await?)
            }
            "mail.externaluid" => {
                p.allow(&["account", "uid_extern"], &[])?;
                to_value(
                    core.rpc_mail_externaluid(s, &p.str("account")?, &p.str("uid_extern")?)
                        .await?,
                )
            }
            // ---- what a mail user has ----
            "mail.capabilities.get" => {
                p.allow(&["mail"], &[])?;
                to_value(core.rpc_mail_capabilities_get(s, &p.str("mail")?).await?)
            }
            "mail.capabilities.set" => {
                p.allow(&["mail", "capabilities"], &[])?;
                let caps = p.string_map("capabilities")?;
                core.rpc_mail_capabilities_set(s, &p.str("mail")?, &caps)
                    .await?;
                Ok(json!(true))
            }
            "mail.apppassword.list" => {
                p.allow(&["mail"], &[])?;
                to_value(core.rpc_apppassword_list(s, &p.str("mail")?).await?)
            }
            "mail.apppassword.add" => {
                p.allow(&["mail", "memo", "imap_allowed", "smtp_allowed"], &[])?;
                let made = core
                    .rpc_apppassword_add(
                        s,
                        &p.str("mail")?,
                        &p.opt_str("memo")?.unwrap_or_default(),
                        p.bool_or("imap_allowed", true)?,
                        p.bool_or("smtp_allowed", true)?,
                        &meta(),
                    )
                    .await?;
                to_value(made)
            }
            "mail.apppassword.del" => {
                p.allow(&["id"], &[])?;
                core.rpc_apppassword_del(s, &p.str("id")?, &meta()).await?;
                Ok(json!(true))
            }
            "mail.blacklist.list" => {
                p.allow(&["mail"], &[])?;
                to_value(core.rpc_blacklist_list(s, &p.str("mail")?).await?)
            }
            "mail.blacklist.add" => {
                p.allow(&["mail", "add_address"], &[])?;
                to_value(
                    core.rpc_blacklist_add(s, &p.str("mail")?, &p.str("add_address")?)
                        .await?,
                )
            }
            "mail.blacklist.del" => {
                p.allow(&["mail", "delete_address"], &[])?;
                to_value(
                    core.rpc_blacklist_del(s, &p.str("mail")?, &p.str("delete_address")?)
                        .await?,
                )
            }
            "mail.vacation.get" => {
                p.allow(&["mail"], &[])?;
                to_value(core.rpc_vacation_get(s, &p.str("mail")?).await?)
            }
            "mail.vacation.set" => {
                p.allow(
                    &[
                        "mail",
                        "subject",
                        "body",
                        "start_date",
                        "end_date",
                        "additional_mail_addresses",
                    ],
                    &[],
                )?;
                if p.opt_list("additional_mail_addresses", MAX_LIST)?
                    .is_some_and(|l| !l.is_empty())
                {
                    return Err(RpcError::invalid_params(
                        "additional_mail_addresses: not supported by this server (the notice answers mail to the user's own addresses)",
                    ));
                }
                core.rpc_vacation_set(
                    s,
                    &p.str("mail")?,
                    &p.str("subject")?,
                    &p.opt_str("body")?.unwrap_or_default(),
                    &p.str("start_date")?,
                    &p.str("end_date")?,
                )
                .await?;
                Ok(json!(true))
            }
            "mail.spamprotect.get" => {
                p.allow(&["mail"], &[])?;
                to_value(core.rpc_spamprotect_get(s, &p.str("mail")?).await?)
            }
            "mail.spamprotect.set" => {
                p.allow(
                    &[
                        "mail",
                        "greylist",
                        "smtp_plausibility",
                        "rbl",
                        "bypass_banned_checks",
                        "tag2level",
                        "killevel",
                        "killlevel",
                        "kill_score",
                        "route_to",
                    ],
                    &[],
                )?;
                let change = SpamProtectChange {
                    greylist: p.opt_bool("greylist")?,
                    smtp_plausibility: p.opt_bool("smtp_plausibility")?,
                    rbl: p.opt_bool("rbl")?,
                    bypass_banned_checks: p.opt_bool("bypass_banned_checks")?,
                    tag2level: p.opt_f64("tag2level")?,
                    // mailbox.org spells it `killevel`; `killlevel` is taken too.
                    killevel: match p.opt_str("killevel")? {
                        Some(k) => Some(k),
                        None => p.opt_str("killlevel")?,
                    },
                    kill_score: p.opt_f64("kill_score")?,
                    route_to: p.opt_str("route_to")?,
                };
                to_value(core.rpc_spamprotect_set(s, &p.str("mail")?, change).await?)
            }
            "mail.passwordreset.listmethods" => {
                p.allow(&["mail"], &[])?;
                to_value(
                    core.rpc_passwordreset_listmethods(s, &p.str("mail")?)
                        .await?,
                )
            }
            "mail.backup.list" => {
                p.allow(&["mail"], &[])?;
                to_value(core.rpc_backup_list(s, &p.str("mail")?).await?)
            }
            "mail.backup.import" => {
                p.allow(&["mail", "id", "time", "filter"], &[])?;
                to_value(
                    core.rpc_backup_import(
                        s,
                        &p.str("mail")?,
                        &p.str("id")?,
                        p.opt_str("time")?.as_deref(),
                        p.opt_str("filter")?.as_deref(),
                    )
                    .await?,
                )
            }
            // ---- mailing lists and groups ----
            "mailinglist.add" => {
                p.allow(
                    &["mailinglist", "password", "account", "adminmail", "members"],
                    &[],
                )?;
                core.rpc_mailinglist_add(
                    s,
                    &p.str("account")?,
                    &p.str("mailinglist")?,
                    &p.str("password")?,
                    p.opt_str("adminmail")?.as_deref(),
                    &p.opt_list("members", MAX_LIST)?.unwrap_or_default(),
                )
                .await?;
                Ok(json!(true))
            }
            "mailinglist.get" => {
                p.allow(&["mailinglist", "account"], &[])?;
                to_value(
                    core.rpc_mailinglist_get(s, &p.str("account")?, &p.str("mailinglist")?)
                        .await?,
                )
            }
            "mailinglist.set" => {
                p.allow(
                    &[
                        "mailinglist",
                        "account",
                        "password",
                        "adminmail",
                        "members",
                        "add_members",
                        "remove_members",
                    ],
                    &[],
                )?;
                let change = MailingListChange {
                    password: p.opt_str("password")?,
                    adminmail: p.opt_str("adminmail")?,
                    members: p.opt_list("members", MAX_LIST)?,
                    add_members: p.opt_list("add_members", MAX_LIST)?.unwrap_or_default(),
                    remove_members: p.opt_list("remove_members", MAX_LIST)?.unwrap_or_default(),
                };
                core.rpc_mailinglist_set(s, &p.str("account")?, &p.str("mailinglist")?, change)
                    .await?;
                Ok(json!(true))
            }
            "mailinglist.del" => {
                p.allow(&["mailinglist", "account"], &[])?;
                core.rpc_mailinglist_del(s, &p.str("account")?, &p.str("mailinglist")?)
                    .await?;
                Ok(json!(true))
            }
            "mailinglist.list" => {
                p.allow(&["account"], &[])?;
                to_value(core.rpc_mailinglist_list(s, &p.str("account")?).await?)
            }
            "group.add" => {
                p.allow(
                    &[
                        "name",
                        "display_name",
                        "mail_addresses_to_add",
                        "account",
                        "address",
                    ],
                    &[],
                )?;
                let change = GroupChange {
                    name: Some(p.str("name")?),
                    display_name: p.opt_str("display_name")?,
                    address: p.opt_str("address")?,
                    add: p
                        .opt_list("mail_addresses_to_add", MAX_LIST)?
                        .unwrap_or_default(),
                    remove: Vec::new(),
                };
                core.rpc_group_add(s, p.opt_str("account")?.as_deref(), change)
                    .await?;
                Ok(json!(true))
            }
            "group.get" => {
                p.allow(&["group_id", "account"], &[])?;
                to_value(
                    core.rpc_group_get(s, p.opt_str("account")?.as_deref(), group_id(&p)?)
                        .await?,
                )
            }
            "group.set" => {
                p.allow(
                    &[
                        "group_id",
                        "display_name",
                        "mail_addresses_to_add",
                        "mail_addresses_to_remove",
                        "account",
                        "address",
                    ],
                    &[],
                )?;
                let change = GroupChange {
                    name: None,
                    display_name: p.opt_str("display_name")?,
                    address: p.opt_str("address")?,
                    add: p
                        .opt_list("mail_addresses_to_add", MAX_LIST)?
                        .unwrap_or_default(),
                    remove: p
                        .opt_list("mail_addresses_to_remove", MAX_LIST)?
                        .unwrap_or_default(),
                };
                core.rpc_group_set(s, p.opt_str("account")?.as_deref(), group_id(&p)?, change)
                    .await?;
                Ok(json!(true))
            }
            "group.del" => {
                p.allow(&["group_id", "account"], &[])?;
                core.rpc_group_del(s, p.opt_str("account")?.as_deref(), group_id(&p)?)
                    .await?;
                Ok(json!(true))
            }
            "group.list" => {
                p.allow(&["account"], &[])?;
                to_value(
                    core.rpc_group_list(s, p.opt_str("account")?.as_deref())
                        .await?,
                )
            }
            "mail.vacation.delete" => {
                p.allow(&["mail"], &[])?;
                core.rpc_vacation_delete(s, &p.str("mail")?).await?;
                Ok(json!(true))
            }
            _ => Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("Method not found: {method}"),
            )),
        }
    }
}
