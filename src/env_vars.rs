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
/// The state's database (a file path or a `postgres://` URL), over `state.database` in the
/// config: a password stays out of config files.
pub const RETRAIN_DATABASE_URL: &str = "RETRAIN_DATABASE_URL";
/// PEM certificates of the certificate authority that signed a PostgreSQL server's
/// certificate, beside Mozilla's roots, for `sslmode=require`.
pub const RETRAIN_DATABASE_CA: &str = "RETRAIN_DATABASE_CA";
/// The password of `notifications.email.username` on the SMTP server: never in the config.
pub const RETRAIN_SMTP_PASSWORD: &str = "RETRAIN_SMTP_PASSWORD";
