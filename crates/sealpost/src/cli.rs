//! The command line: subcommands and their options, as `sealpost --help` documents them.

use crate::config::parse_listen;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Sealpost: a private mail platform server.
///
/// One program that is a whole mail platform: the mail store with IMAP, POP3, LMTP, inbound
/// SMTP and submission; the WildDuck-compatible REST API, the Guard key-management API, the
/// JSON-RPC provisioning API and the passbolt-compatible vault. Configuration comes from
/// built-in defaults, then the TOML file given with --config, then SEALPOST_* environment
/// variables, then command-line flags. Every command works on the installation that
/// --data-dir and --config name: give the CLI the same ones as `serve`.
#[derive(Debug, Parser)]
#[command(name = "sealpost", version, propagate_version = true)]
pub struct Cli {
    /// Data directory: the SQLite database and the message blobs live here [default: ./data]
    #[arg(long, global = true, value_name = "DIR", env = "SEALPOST_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// TOML configuration file (see README.md for every key)
    #[arg(
        long,
        short = 'c',
        global = true,
        value_name = "FILE",
        env = "SEALPOST_CONFIG"
    )]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: open (and migrate) the store, then serve the APIs, IMAP(S), POP3(S),
    /// LMTP, SMTP and submission until SIGTERM/SIGINT (a graceful stop); SIGHUP reloads the
    /// TLS certificate and the log level
    Serve(ServeArgs),
    /// Open the store, apply any pending schema migrations, and exit
    Migrate,
    /// Check the configuration, the data directory, the database, the blob store and the TLS
    /// files as `serve` would use them, then exit: 0 when all work, else 1 (2 for a bad
    /// configuration) with the reason
    Check,
    /// Manage mail users without going through the REST API
    #[command(subcommand)]
    User(UserCommand),
    /// The password vault (passbolt API under /vault)
    #[command(subcommand)]
    Vault(VaultCommand),
    /// Manage the JSON-RPC provisioning API's admin and reseller logins (works while the
    /// server runs: same data dir and environment)
    #[command(subcommand)]
    JsonrpcAdmin(JsonrpcAdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Invite a mail user to the vault (as passbolt's register_user); prints the setup URL
    /// <base>/setup/start/<user uuid>/<token uuid>
    Invite(VaultInviteArgs),
}

#[derive(Debug, Args)]
pub struct VaultInviteArgs {
    /// An address of the mail user
    pub address: String,
    /// Make the vault user an administrator
    #[arg(long)]
    pub admin: bool,
}

#[derive(Debug, Subcommand)]
pub enum JsonrpcAdminCommand {
    /// Create a login (its password from --password or --password-stdin)
    Add(JsonrpcAddArgs),
    /// List the logins
    List,
    /// Delete a login and its sessions (its accounts stay, owned by no reseller)
    Del(JsonrpcDelArgs),
    /// Set a login's password
    Passwd(JsonrpcPasswdArgs),
}

#[derive(Debug, Args)]
pub struct JsonrpcAddArgs {
    /// Login name (what `auth` takes as `user`)
    pub name: String,
    /// admin (everything) or reseller (the accounts it makes)
    #[arg(long, default_value = "admin", value_parser = ["admin", "reseller"])]
    pub level: String,
    #[command(flatten)]
    pub password: RequiredPassword,
}

#[derive(Debug, Args)]
pub struct JsonrpcDelArgs {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct JsonrpcPasswdArgs {
    pub name: String,
    #[command(flatten)]
    pub password: RequiredPassword,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address of the REST API, overriding [api] listen and SEALPOST_API_LISTEN
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_listen)]
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (with the default mailboxes and, unless --address is given, an address
    /// username@<[users] domain>); prints the new user's id
    Add(UserAddArgs),
    /// List users, optionally filtered by a partial username/address match
    List(UserListArgs),
    /// Set a user's password
    Passwd(UserPasswdArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Login name: letters, digits and dots
    pub username: String,
    #[command(flatten)]
    pub password: OptionalPassword,
    /// Main email address [default: <username>@<[users] domain>]
    #[arg(long, value_name = "ADDRESS")]
    pub address: Option<String>,
    /// Storage quota in bytes [default: [users] defaultQuota]
    #[arg(long, value_name = "BYTES")]
    pub quota: Option<i64>,
    /// Display name
    #[arg(long)]
    pub name: Option<String>,
}

/// Without any of these options the password is asked for on the terminal; without a
/// terminal the command refuses (a password-less account is only made with --no-password).
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct OptionalPassword {
    /// Password (visible to other local users in the process list; prefer --password-stdin)
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Read the password from the first line of standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Create the account without a password (it can log in only with application passwords
    /// or once a password is set)
    #[arg(long)]
    pub no_password: bool,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RequiredPassword {
    /// New password (visible to other local users in the process list; prefer --password-stdin)
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Read the new password from the first line of standard input
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UserListArgs {
    /// Partial match on username or address
    #[arg(long, short = 'q')]
    pub query: Option<String>,
    /// Print one JSON object per user instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UserPasswdArgs {
    /// Username or one of the user's addresses
    pub username: String,
    #[command(flatten)]
    pub password: RequiredPassword,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_subcommands() {
        let cli = Cli::try_parse_from([
            "sealpost",
            "--data-dir",
            "/d",
            "serve",
            "--listen",
            "127.0.0.1:1",
        ])
        .unwrap();
        assert_eq!(cli.data_dir, Some(PathBuf::from("/d")));
        assert!(matches!(
            cli.command,
            Command::Serve(ServeArgs { listen: Some(_) })
        ));

        let cli = Cli::try_parse_from([
            "sealpost",
            "user",
            "add",
            "bob",
            "--password",
            "pw",
            "--quota",
            "10",
        ])
        .unwrap();
        match cli.command {
            Command::User(UserCommand::Add(a)) => {
                assert_eq!(a.username, "bob");
                assert_eq!(a.password.password.as_deref(), Some("pw"));
                assert_eq!(a.quota, Some(10));
            }
            other => panic!("{other:?}"),
        }

        // global options after the subcommand
        let cli = Cli::try_parse_from([
            "sealpost",
            "migrate",
            "--data-dir",
            "x",
            "--config",
            "c.toml",
        ])
        .unwrap();
        assert_eq!(cli.config, Some(PathBuf::from("c.toml")));
    }

    #[test]
    fn password_options_conflict_and_passwd_requires_one() {
        assert!(
            Cli::try_parse_from([
                "sealpost",
                "user",
                "add",
                "bob",
                "--password",
                "x",
                "--password-stdin"
            ])
            .is_err()
        );
        assert!(Cli::try_parse_from(["sealpost", "user", "passwd", "bob"]).is_err());
        assert!(
            Cli::try_parse_from(["sealpost", "user", "passwd", "bob", "--password-stdin"]).is_ok()
        );
    }

    #[test]
    fn bad_listen_flag() {
        let err = Cli::try_parse_from(["sealpost", "serve", "--listen", "nowhere"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
