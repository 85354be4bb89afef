//! `retrain restore --from DIR`: a backup put back into an empty state, then verified (see
//! `lifecycle::backup`).

use crate::cli::RestoreArgs;
use crate::config::Resolved;
use crate::error::code;
use crate::lifecycle::backup;

pub fn run(resolved: &Resolved, args: &RestoreArgs) -> anyhow::Result<u8> {
    let restored = backup::restore(resolved, &args.from)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&restored)?);
    } else {
        println!(
            "restored {} into {} and {}: {} tables, {} rows, {} version(s), {} files, {} bytes",
            restored.from,
            restored.database,
            restored.models,
            restored.tables,
            restored.rows,
            restored.versions,
            restored.files,
            restored.bytes
        );
        println!("verified: every table's rows and every artifact's checksums");
    }
    Ok(code::OK)
}
