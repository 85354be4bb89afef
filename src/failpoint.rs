//! Crash points for tests: when `RETRAIN_FAILPOINT` names a point, the process aborts
//! there, as if killed, with no cleanup. This is how the tests prove that a crash at any
//! step leaves the state whole. Unset in normal use, it costs one environment lookup.

use crate::env_vars::RETRAIN_FAILPOINT;

/// Abort the process if `RETRAIN_FAILPOINT` is `name`.
pub fn hit(name: &str) {
    if std::env::var_os(RETRAIN_FAILPOINT).is_some_and(|value| value == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
