//! The end-to-end suite (tests/cli) with every state on PostgreSQL: each `Case` keeps its
//! state in a database of its own on the server `TEST_POSTGRES_URL` names, through
//! `RETRAIN_DATABASE_URL` (see `support::on_postgres`). `cargo test --test cli_postgres`;
//! `.ci/run` starts a server and runs it.

#[path = "cli"]
mod cli {
    include!("cli/modules.rs");
}

use cli::*;

// Alerts by email need the SMTP test server, which .ci/run starts beside PostgreSQL: they
// are part of this server suite only (tests/cli/email.rs).
#[path = "cli/email.rs"]
mod email;
