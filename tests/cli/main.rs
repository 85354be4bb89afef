//! End-to-end tests: the real `retrain` binary, run in a temporary project folder.
//!
//! # Layout
//!
//! One module per command a user types, named after it (`drift_check` for `drift-check`):
//! each holds the tests about that command. A test that tells a story across several
//! commands lives with its main subject: the deployment story on real data is in
//! `history`, a crash in the middle of `promote` or `rollback` in `promote`. `collect`
//! has submodules for its other ways in: `formats` (every spelling of the same candles),
//! `rejects` (bad input), `binance` (the exchange's API) and `trades` (`--trades`).
//!
//! Everything the tests share is in `support` (and nowhere else): the `Case` builder, the
//! fixture paths, helpers such as `collect`, `train`, `json`, `db` and `count`;
//! `support::http` is a local HTTP server for the webhook and the exchange, and
//! `support::deploy` holds what the deployment tests share (model statuses, the
//! invariants a crash must keep, a live feed of candles).
//!
//! # Adding a test
//!
//! Put it in the module of the command it is about, and build it from a `Case`:
//!
//! ```ignore
//! let case = Case::new().config(OPEN_GATES).with_trained_model("2", "1");
//! case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "1"])
//!     .assert_exit(0)
//!     .stdout_contains("v1 is production");
//! ```
//!
//! Fixtures: real market data is in tests/data (`data(name)`; tests/data/README.md says
//! what each file is and where it came from); the committed synthetic sample is
//! data/sample/SYNTH-5m.csv (`sample()`); recorded exchange answers, oracle values and
//! reviewed renderings are in tests/fixtures (`fixture(path)`). A test that cannot find its
//! data fails: none returns early. A test that needs a damaged or reshaped file writes
//! its own copy into the case's folder with `case.write(..)`.
//!
//! `cargo test --test cli promote::` runs one module's tests.

include!("modules.rs");
