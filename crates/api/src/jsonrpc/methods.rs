//! The methods: each reads its parameters (by mailbox.org's names), calls `core` with the
//! session's principal and shapes the answer. Which level may call a method, and which
//! objects a session may name, is `core`'s to decide (`provisioning::access`).

use super::Call;
use super::error::{METHOD_NOT_FOUND, RpcError, RpcResult};
use super::params::Params;
use sealpost_core::AuthMeta;
use sealpost_core::provisioning::{
    self as prov, ACCOUNT_FIELDS, AccountChange, MAIL_FIELDS, MailChange, MailListQuery, Need,
    NewAccount, NewDomain, NewMail, Principal,
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
            // ---- domains ----
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
