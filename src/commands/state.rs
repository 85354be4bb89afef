//! `retrain state copy`: move a whole state to another place. What --from names decides
//! what is copied: a database (the store copies it table by table, see `store::copy`) or
//! the models (copied here file by file through the artifact store, each version's
//! manifest after its other files). Either way the copy is read back and compared before
//! the command says so, and a target that holds anything is refused.

use std::path::Path;

use serde::Serialize;

use crate::artifact::{self, Models, storage};
use crate::cli::{StateAction, StateArgs, StateCopyArgs};
use crate::error::{Failure, code};
use crate::output::Table;
use crate::store::copy::{self, CopiedTable};
use crate::store::{Location, is_postgres_url, redact_password};

pub fn run(args: &StateArgs) -> anyhow::Result<u8> {
    match &args.action {
        StateAction::Copy(copy) => copy_state(copy),
    }
}

/// What --from names, which decides what --to must name.
enum Source {
    Database(Location),
    Models(Models),
}

/// A database copy, as printed.
#[derive(Serialize)]
struct DatabaseCopy {
    kind: &'static str,
    from: String,
    to: String,
    schema_version: i64,
    tables: Vec<CopiedTable>,
    rows: u64,
    verified: bool,
}

/// A copy of the models, as printed.
#[derive(Serialize)]
struct ModelsCopy {
    kind: &'static str,
    from: String,
    to: String,
    files: usize,
    bytes: u64,
    verified: bool,
}

fn copy_state(args: &StateCopyArgs) -> anyhow::Result<u8> {
    match source(&args.from)? {
        Source::Database(from) => {
            let to = database_target(&args.to)?;
            let copied = copy::copy(&from, &to)?;
            let report = DatabaseCopy {
                kind: "database",
                from: from.display(),
                to: to.display(),
                schema_version: copied.schema_version,
                rows: copied.tables.iter().map(|t| t.rows).sum(),
                tables: copied.tables,
                verified: true,
            };
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", render_database(&report));
            }
        }
        Source::Models(from) => {
            let to = models_target(&args.to)?;
            let copied = artifact::copy::copy_all(&from, &to)?;
            let report = ModelsCopy {
                kind: "models",
                from: from.display(),
                to: to.display(),
                files: copied.files,
                bytes: copied.bytes,
                verified: true,
            };
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "copied {} to {}: {} files, {} bytes",
                    report.from, report.to, report.files, report.bytes
                );
                println!("verified: every file read back from {} has the SHA-256 of its source", report.to);
            }
        }
    }
    Ok(code::OK)
}

fn usage(message: String) -> anyhow::Error {
    Failure::Usage(message).into()
}

fn source(text: &str) -> anyhow::Result<Source> {
    if is_postgres_url(text) {
        return Ok(Source::Database(Location::Postgres(text.to_string())));
    }
    if storage::is_url(text) {
        let models = Models::open(text, Path::new("")).map_err(|e| usage(format!("--from {e}")))?;
        if let Models::Local(path) = &models
            && !path.is_dir()
        {
            return Err(usage(format!("--from {text}: no such folder")));
        }
        return Ok(Source::Models(models));
    }
    let path = Path::new(text);
    if path.is_file() {
        Ok(Source::Database(Location::Sqlite(path.to_path_buf())))
    } else if path.is_dir() {
        Ok(Source::Models(Models::Local(path.to_path_buf())))
    } else {
        Err(usage(format!(
            "--from {}: neither a database (an existing SQLite file or a postgres:// URL) nor models \
             (an existing folder or an s3://, gs://, az:// or file:// URL)",
            redact_password(text)
        )))
    }
}

fn database_target(text: &str) -> anyhow::Result<Location> {
    if is_postgres_url(text) {
        return Ok(Location::Postgres(text.to_string()));
    }
    if storage::is_url(text) || Path::new(text).is_dir() {
        return Err(usage(format!(
            "--to {text} holds models, but --from names a database: a database is copied to a SQLite file or \
             a postgres:// URL"
        )));
    }
    Ok(Location::Sqlite(Path::new(text).to_path_buf()))
}

fn models_target(text: &str) -> anyhow::Result<Models> {
    if is_postgres_url(text) || Path::new(text).is_file() {
        return Err(usage(format!(
            "--to {} is a database or a file, but --from names models: models are copied to a folder or an \
             object store URL",
            redact_password(text)
        )));
    }
    Models::open(text, Path::new("")).map_err(|e| usage(format!("--to {e}")))
}

fn render_database(report: &DatabaseCopy) -> String {
    let mut table = Table::new(["TABLE", "ROWS"]);
    for copied in &report.tables {
        table.row(vec![copied.table.clone(), copied.rows.to_string()]);
    }
    format!(
        "copied {} to {} (schema v{})\n{}verified: {} tables, {} rows; each has the row count and the SHA-256 \
         of its rows it has in {}\n",
        report.from,
        report.to,
        report.schema_version,
        table.render(),
        report.tables.len(),
        report.rows,
        report.from
    )
}
