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
    let password = read_password(args.password.password, args.password.password_stdin)?;
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
