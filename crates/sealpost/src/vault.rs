//! `sealpost vault invite ADDRESS [--admin]`: the first vault administrator (and anyone
//! else) without going through the API, as passbolt's `register_user`. Prints the setup URL.

use crate::Failure;
use crate::cli::VaultCommand;
use crate::config::Config;
use crate::serve::open_core;

pub async fn run(config: Config, command: VaultCommand) -> Result<(), Failure> {
    let core = open_core(&config).await?;
    match command {
        VaultCommand::Invite(args) => {
            let inv = core
                .vault_invite(&args.address, args.admin, None, None)
                .await
                .map_err(|e| match e {
                    sealpost_core::vault::VaultError::Validation { .. } => Failure::Run(format!(
                        "{} is not the address of a mail user, or is already a vault user",
                        args.address
                    )),
                    other => Failure::Run(other.to_string()),
                })?;
            println!("{}", inv.url);
            Ok(())
        }
    }
}
