// The suite's modules, one per command (see main.rs), shared by the SQLite run (`cli`,
// whose root is main.rs) and the PostgreSQL run (`cli_postgres`, tests/cli_postgres.rs).
pub mod alerts;
pub mod backup;
pub mod check;
pub mod collect;
pub mod drift_check;
pub mod evaluate;
pub mod features;
pub mod history;
pub mod init;
pub mod predict;
pub mod promote;
pub mod prune;
pub mod queue;
pub mod replay;
pub mod report;
pub mod rollback;
pub mod run;
pub mod sample_data;
pub mod schedule;
pub mod state;
pub mod status;
pub mod support;
pub mod train;
