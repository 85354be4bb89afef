//! Every environment variable `retrain` reads, in one place (the README lists the same).

/// Path of the config file, when `--config` is not given.
pub const RETRAIN_CONFIG: &str = "RETRAIN_CONFIG";
/// Set to any value to turn colours off, as <https://no-color.org> asks.
pub const NO_COLOR: &str = "NO_COLOR";
/// Testing only: abort the process at the named crash point (see `failpoint.rs`).
pub const RETRAIN_FAILPOINT: &str = "RETRAIN_FAILPOINT";
