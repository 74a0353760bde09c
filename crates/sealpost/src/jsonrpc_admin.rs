//! `sealpost jsonrpc-admin add|list|del|passwd`: the JSON-RPC API's admin and reseller
//! logins. The first credential of the API comes from here, never from a config value.

use crate::Failure;
use crate::cli::JsonrpcAdminCommand;
use crate::config::Config;
use crate::serve::open_core;
use crate::user::{format_table, read_password};
use sealpost_core::provisioning::{Level, date};

pub async fn run(config: Config, command: JsonrpcAdminCommand) -> Result<(), Failure> {
    let core = open_core(&config).await?;
    match command {
        JsonrpcAdminCommand::Add(a) => {
            let level = Level::parse(&a.level)
                .ok_or_else(|| Failure::Config(format!("unknown level {:?}", a.level)))?;
            let password = required(read_password(
                a.password.password,
                a.password.password_stdin,
            )?)?;
            core.rpc_add_login(&a.name, level, &password).await?;
            eprintln!(
                "sealpost: JSON-RPC login {} ({}) created",
                a.name.trim().to_lowercase(),
                level.as_str()
            );
        }
        JsonrpcAdminCommand::List => {
            let rows: Vec<[String; 3]> = core
                .rpc_list_logins()
                .await?
                .into_iter()
                .map(|(name, level, created)| [name, level.as_str().to_string(), date(created)])
                .collect();
            print!("{}", format_table(["NAME", "LEVEL", "CREATED"], &rows));
        }
        JsonrpcAdminCommand::Del(a) => {
            core.rpc_delete_login(&a.name).await?;
            eprintln!(
                "sealpost: JSON-RPC login {} deleted",
                a.name.trim().to_lowercase()
            );
        }
        JsonrpcAdminCommand::Passwd(a) => {
            let password = required(read_password(
                a.password.password,
                a.password.password_stdin,
            )?)?;
            core.rpc_set_login_password(&a.name, &password).await?;
            eprintln!(
                "sealpost: password changed for JSON-RPC login {}",
                a.name.trim().to_lowercase()
            );
        }
    }
    Ok(())
}

fn required(p: Option<String>) -> Result<String, Failure> {
    p.ok_or_else(|| {
        Failure::Config("a password is required (--password or --password-stdin)".into())
    })
}
