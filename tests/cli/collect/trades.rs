//! `collect --trades`: trade outcomes of the live system, idempotent on id.

use crate::support::Case;

const HEADER: &str = "id,symbol,opened_at,closed_at,side,entry_price,exit_price,quantity,pnl,model_version\n";

#[test]
fn outcomes_are_imported_once_and_corrections_update() {
    let case = Case::new();
    let first = format!(
        "{HEADER}t1,BTCUSDT,2022-01-01T00:00:00Z,2022-01-01T01:00:00Z,long,46000,46200,0.1,20,1\n\
         t2,BTCUSDT,2022-01-01T02:00:00Z,2022-01-01T03:00:00Z,short,46300,46400,0.1,-10,\n"
    );
    let path = case.write("trades.csv", &first);
    case.run(["collect", "--trades", path.to_str().unwrap()])
        .assert_exit(0)
        .stdout_contains("2 read, 2 inserted, 0 updated, 0 unchanged");
    case.run(["collect", "--trades", path.to_str().unwrap()])
        .assert_exit(0)
        .stdout_contains("0 inserted, 0 updated, 2 unchanged; nothing changed");

    let corrected = first.replace("-10,", "-12,")
        + "t3,ETHUSDT,2022-01-01T04:00:00Z,2022-01-01T05:00:00Z,buy,3700,3720,1,20,2\n";
    let path = case.write("trades.csv", corrected);
    case.run(["collect", "--trades", path.to_str().unwrap()])
        .assert_exit(0)
        .stdout_contains("3 read, 1 inserted, 1 updated, 1 unchanged");
    let dump = case.dump();
    assert!(dump.contains("trade_outcomes: \"t2\", \"BTCUSDT\", 1641002400000, 1641006000000, \"short\", 46300.0, 46400.0, 0.1, -12.0, NULL"), "{dump}");
    case.run(["status"]).assert_exit(0).stdout_contains("BTCUSDT  2");
}

#[test]
fn a_bad_outcome_names_its_line_and_writes_nothing() {
    let case = Case::new();
    let text = format!(
        "{HEADER}t1,BTCUSDT,2022-01-01T00:00:00Z,2022-01-01T01:00:00Z,long,46000,46200,0.1,20,1\n\
         t2,BTCUSDT,2022-01-01T02:00:00Z,2022-01-01T03:00:00Z,short,-5,46400,0.1,-10,\n"
    );
    let path = case.write("trades.csv", text);
    case.run(["collect", "--trades", path.to_str().unwrap()])
        .assert_exit(2)
        .stderr_contains("trades.csv:3: entry_price: expected a positive number, got -5");
    assert_eq!(case.dump(), "no database");
}
