//! `retrain backup --to DIR`: a consistent copy of the whole state (see
//! `lifecycle::backup`).

use crate::cli::BackupArgs;
use crate::config::Resolved;
use crate::error::code;
use crate::lifecycle::backup;

pub fn run(resolved: &Resolved, args: &BackupArgs) -> anyhow::Result<u8> {
    let index = backup::backup(resolved, &args.to)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"to": args.to, "backup": index}))?);
    } else {
        println!(
            "backed up {} and {} into {}: the database (schema v{}) and {} version(s), {} files, {} bytes",
            index.database,
            index.models,
            args.to.display(),
            index.schema_version,
            index.versions,
            index.files.len(),
            index.total_bytes()
        );
        println!(
            "verified: every artifact against its checksums; {} lists every file's SHA-256 for `retrain restore`",
            backup::INDEX_FILE
        );
    }
    Ok(code::OK)
}
