//! `sealpost user add|list|passwd`: user administration for operators without curl. Each
//! command calls the same `core` functions as the REST API.

use crate::Failure;
use crate::cli::{UserAddArgs, UserCommand, UserListArgs, UserPasswdArgs};
use crate::config::Config;
use crate::serve::open_core;
use sealpost_core::{Core, Cursor, NewUser, PageRequest, UserQuery, UserRecord, UserUpdate};
use std::io::BufRead;

pub async fn run(config: Config, command: UserCommand) -> Result<(), Failure> {
    let core = open_core(&config).await?;
    match command {
        UserCommand::Add(args) => add(&core, args).await,
        UserCommand::List(args) => list(&core, args).await,
        UserCommand::Passwd(args) => passwd(&core, args).await,
    }
}

async fn add(core: &Core, args: UserAddArgs) -> Result<(), Failure> {
    let password = if args.password.no_password {
        None
    } else if args.password.password.is_none() && !args.password.password_stdin {
        Some(ask_password(&args.username)?)
    } else {
        read_password(args.password.password, args.password.password_stdin)?
    };
    let new = NewUser {
        username: args.username,
        password,
        address: args.address,
        name: args.name,
        quota: args.quota,
        ..NewUser::default()
    };
    let id = core.create_user(new).await?;
    println!("{id}");
    Ok(())
}

async fn list(core: &Core, args: UserListArgs) -> Result<(), Failure> {
    let query = UserQuery {
        query: args.query,
        ..UserQuery::default()
    };
    let mut users: Vec<UserRecord> = Vec::new();
    let mut page = PageRequest {
        limit: 250,
        cursor: Cursor::First,
    };
    loop {
        let result = core.list_users(&query, &page).await?;
        let done = result.results.is_empty();
        users.extend(result.results);
        match result.next_cursor {
            Some(next) if !done => page.cursor = Cursor::Next(next),
            _ => break,
        }
    }
    if args.json {
        for u in &users {
            let line = serde_json::to_string(u).map_err(|e| Failure::Run(e.to_string()))?;
            println!("{line}");
        }
        return Ok(());
    }
    let rows: Vec<[String; 6]> = users
        .iter()
        .map(|u| {
            [
                u.id.to_string(),
                u.username.clone(),
                u.address.clone().unwrap_or_else(|| "-".into()),
                u.storage_used.to_string(),
                u.quota_allowed.to_string(),
                if u.tags.is_empty() {
                    "-".into()
                } else {
                    u.tags.join(",")
                },
            ]
        })
        .collect();
    print!(
        "{}",
        format_table(
            ["ID", "USERNAME", "ADDRESS", "USED", "QUOTA", "TAGS"],
            &rows
        )
    );
    Ok(())
}

async fn passwd(core: &Core, args: UserPasswdArgs) -> Result<(), Failure> {
    // `RequiredPassword` is a required clap group: one of the two options is always given,
    // so this is `Some`.
    let password = read_password(args.password.password, args.password.password_stdin)?;
    let id = core
        .resolve_user(&args.username)
        .await?
        .ok_or_else(|| Failure::Run(format!("no such user: {}", args.username)))?;
    let update = UserUpdate {
        password,
        ..UserUpdate::default()
    };
    core.update_user(&id, update).await?;
    eprintln!("sealpost: password changed for {} ({id})", args.username);
    Ok(())
}

/// Asks for a new password twice on the terminal, without echo; refuses without a terminal,
/// so that a script that forgot `--password-stdin` never makes a password-less account.
fn ask_password(username: &str) -> Result<String, Failure> {
    use std::io::{IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Config(format!(
            "no password given for {username}: use --password-stdin (or --password), \
             or --no-password for an account without one"
        )));
    }
    let read = |prompt: &str| -> Result<String, Failure> {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let line = read_line_without_echo()
            .map_err(|e| Failure::Run(format!("cannot read the password: {e}")))?;
        eprintln!();
        Ok(line)
    };
    let first = read(&format!("New password for {username}: "))?;
    if first.is_empty() {
        return Err(Failure::Config("empty password".into()));
    }
    let second = read("Again: ")?;
    if first != second {
        return Err(Failure::Config("the passwords do not match".into()));
    }
    Ok(first)
}

/// One line of standard input with the terminal's echo turned off for the read.
fn read_line_without_echo() -> std::io::Result<String> {
    #[cfg(unix)]
    let saved = {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a zeroed termios that tcgetattr fills;
        // both only read or write that struct.
        let mut term: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(0, &mut term) } == 0 {
            let saved = term;
            term.c_lflag &= !libc::ECHO;
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &term) };
            Some(saved)
        } else {
            None
        }
    };
    let mut line = String::new();
    let result = std::io::stdin().lock().read_line(&mut line);
    #[cfg(unix)]
    if let Some(saved) = saved {
        // SAFETY: restores the settings read above.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &saved) };
    }
    result?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// The password from `--password`, or the first line of standard input.
pub(crate) fn read_password(
    given: Option<String>,
    from_stdin: bool,
) -> Result<Option<String>, Failure> {
    if !from_stdin {
        return Ok(given);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::Run(format!("cannot read the password from standard input: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(Failure::Config("empty password on standard input".into()));
    }
    Ok(Some(password.to_owned()))
}

/// Left-aligned columns separated by two spaces, with a header row.
pub(crate) fn format_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let rows = [
            ["1".to_string(), "alice".to_string()],
            ["22".to_string(), "b".to_string()],
        ];
        let t = format_table(["ID", "NAME"], &rows);
        assert_eq!(t, "ID  NAME\n1   alice\n22  b\n");
    }
}
