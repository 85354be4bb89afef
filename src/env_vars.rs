//! Every environment variable `retrain` reads, in one place (docs/operations.md lists the
//! same). Besides these, `RETRAIN_<SECTION>_<KEY>` sets a scalar config key (see
//! `config::environment`).

/// Path of the config file, when `--config` is not given.
pub const RETRAIN_CONFIG: &str = "RETRAIN_CONFIG";
/// Set to a non-empty value to turn colours off, as <https://no-color.org> asks.
pub const NO_COLOR: &str = "NO_COLOR";
/// Set to a value other than `0` for colours even off a terminal (a pager, a test), as
/// <https://bixense.com/clicolors/> asks; `NO_COLOR` wins over it.
pub const CLICOLOR_FORCE: &str = "CLICOLOR_FORCE";
/// Testing only: abort the process at the named crash point (see `failpoint.rs`).
pub const RETRAIN_FAILPOINT: &str = "RETRAIN_FAILPOINT";
