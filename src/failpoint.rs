//! Crash points for tests: when `RETRAIN_FAILPOINT` names a point, the process aborts
//! there, as if killed, with no cleanup (or, with `pause:`, waits there to be killed). This is how the tests prove that a crash at any
//! step leaves the state whole. Unset in normal use, it costs one environment lookup.

use crate::env_vars::RETRAIN_FAILPOINT;

/// Abort the process if `RETRAIN_FAILPOINT` is `name`. If it is `pause:name`, say so on
/// stderr and wait there until stdin closes, so that a test can `kill -9` the process at
/// that point, or let it go on by closing stdin.
pub fn hit(name: &str) {
    let Some(value) = std::env::var_os(RETRAIN_FAILPOINT) else { return };
    if value == name {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
    if value.to_str().and_then(|v| v.strip_prefix("pause:")) == Some(name) {
        eprintln!("failpoint {name}: pausing");
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    }
}
