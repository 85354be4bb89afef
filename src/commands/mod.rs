//! One module per command: each reads what it needs, calls the core, writes, prints.

mod collect;
mod init;
mod sample_data;
mod status;

use crate::cli::{Cli, Command};
use crate::config;

/// Resolve the settings once, then run the command; the `Ok` value is the exit code.
pub fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Init => init::run(cli.config.as_deref()),
        Command::SampleData(args) => sample_data::run(&args),
        Command::Collect(args) => collect::run(&config::load(cli.config.as_deref())?, &args),
        Command::Status(args) => status::run(&config::load(cli.config.as_deref())?, &args),
    }
}
