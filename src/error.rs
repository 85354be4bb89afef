//! Failures a caller must tell apart, and the one place that maps them to exit codes.
//!
//! Commands use `anyhow` with context; where the kind of failure decides the exit code,
//! they return (or wrap) a [`Failure`], which [`exit_code`] finds anywhere in the chain.

use std::process::ExitCode;

/// Exit codes, stable and documented in docs/operations.md.
pub mod code {
    /// Success.
    pub const OK: u8 = 0;
    /// A runtime failure: I/O, the database, a network error after retries.
    pub const RUNTIME: u8 = 1;
    /// A usage, config or input error: bad flag, bad config key or value, unreadable input.
    pub const USAGE: u8 = 2;
    /// Refused by a quality or promotion gate; nothing was written.
    pub const REFUSED: u8 = 3;
    /// Drift at or above the requested severity.
    pub const DRIFT: u8 = 4;
    /// Another `run` holds the lock.
    pub const LOCKED: u8 = 5;
    /// `check` found a problem (after `--repair`, one that remains).
    pub const PROBLEMS: u8 = 6;
}

/// A failure whose kind decides the exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The command line or the config is wrong.
    #[error("{0}")]
    Usage(String),
    /// An input file or response cannot be read as what it should be.
    #[error("{0}")]
    Input(String),
    /// A batch or a candidate was refused by a gate.
    #[error("{0}")]
    Refused(String),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) | Failure::Input(_) => code::USAGE,
            Failure::Refused(_) => code::REFUSED,
        }
    }
}

/// The exit code for an error: the first [`Failure`] in its chain decides, else 1.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    error.chain().find_map(|cause| cause.downcast_ref::<Failure>()).map_or(code::RUNTIME, Failure::code)
}

/// Print an error as one line with its whole chain and return its exit code.
pub fn report(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::from(exit_code(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn failure_anywhere_in_the_chain_decides_the_code() {
        let refused: anyhow::Result<()> = Err(Failure::Refused("quality 0.41".into()).into());
        let wrapped = refused.context("collecting BTCUSDT").unwrap_err();
        assert_eq!(exit_code(&wrapped), code::REFUSED);

        let io = anyhow::Error::from(std::io::Error::other("disk full"));
        assert_eq!(exit_code(&io), code::RUNTIME);

        let usage = anyhow::Error::from(Failure::Input("bad line".into())).context("reading x");
        assert_eq!(exit_code(&usage), code::USAGE);
    }
}
