//! The `retrain` binary: parse the command line, run it, turn the outcome into an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    reset_sigpipe();
    ignore_sigxfsz();
    let cli = retrain::cli::Cli::parse();
    retrain::run(cli)
}

/// Rust ignores SIGPIPE, so `retrain status | head` would panic on the closed pipe;
/// restore the default, and end quietly as every Unix tool does.
fn reset_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A write past the file-size limit (`ulimit -f`) kills the process with SIGXFSZ by
/// default, mid-write, with no message. Ignored, the write fails with EFBIG instead, and
/// the error names what could not be written, as a full disk's does (the tests run every
/// command under such a limit).
fn ignore_sigxfsz() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
