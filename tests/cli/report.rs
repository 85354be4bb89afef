//! `report`: the fleet as one web page. Its figures are the ones `status --json`,
//! `history --json` and `history --jobs --json` give for the same state; its live win
//! rate over time ends where `status`'s SQL puts it; bad input changes nothing. (That a
//! browser draws it with no error and no network request is `scripts/check-report.sh`'s,
//! which `.ci/run` runs.)

use serde_json::Value;

use crate::support::deploy::{Feed, ONE_REGIME, production};
use crate::support::{Case, OPEN_GATES, count, json, train};

/// The report inlined in a page.
pub fn inlined(page: &str) -> Value {
    let start = page.find("<script type=\"application/json\" id=\"report-data\">").expect("the data is inlined");
    let body = &page[start..];
    let body = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    assert!(!body.contains('<'), "no raw < in the inlined JSON");
    serde_json::from_str(body).unwrap()
}

/// The cells of the table row that starts with `opening`, as text (tags taken out, the
/// five entities the page escapes put back).
fn row_cells(page: &str, opening: &str) -> Vec<String> {
    let start = page.find(opening).unwrap_or_else(|| panic!("no row {opening}"));
    let row = &page[start..start + page[start..].find("</tr>").unwrap()];
    row.split("<td")
        .skip(1)
        .map(|cell| {
            let cell = &cell[cell.find('>').unwrap() + 1..];
            let mut text = String::new();
            let mut in_tag = false;
            for c in cell.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
        })
        .collect()
}

/// A promotion, a second one that degrades live and is rolled back by the system, the
/// signals of both versions resolved, drift checks, the jobs of `run`, and an open alert:
/// every part of the page has something to show.
#[test]
fn the_page_shows_the_numbers_of_status_and_history() {
    let config = format!(
        "symbols:\n  - symbol: SYNTH\n    interval: 5m\n    regimes: [trending]\n\
         training:\n  search:\n    max_trials: 2\n\
         {OPEN_GATES}{ONE_REGIME}triggers:\n  min_signals: 8\n  performance_decay: 0.1\n"
    );
    let case = Case::new().config(&config);
    let feed = Feed::sample();
    feed.collect(&case, 0..6000);
    case.run(["run"]).assert_exit(0).stdout_contains("promoted (the first production version)");
    train(&case, "SYNTH", "trending", &["--trials", "2", "--seed", "2"]).assert_exit(0);
    feed.step(&case, 6000..6030);
    case.run(["promote", "--symbol", "SYNTH", "--regime", "trending", "--version", "2"]).assert_exit(0);
    // Every signal long from here (as in rollback.rs): v2 trades every bar and falls behind.
    case.write("config.yaml", format!("{config}evaluation:\n  threshold: 0.001\n"));
    let (_, log) = feed.step(&case, 6030..6060);
    assert!(log.contains("v2 rolled back to v1"), "{log}");
    assert_eq!(production(&case, "trending"), Some(1));
    // v1 serves again: its signals since the rollback (resolved 12 bars later) make its
    // live win rate.
    feed.step(&case, 6060..6076);
    assert_eq!(production(&case, "trending"), Some(1));
    case.run(["drift-check", "--symbol", "SYNTH", "--regime", "trending"]).assert_exit(0);

    let before = case.state_snapshot();
    case.run(["report", "--out", "fleet.html"]).assert_exit(0).stdout_contains("wrote fleet.html (1 models");
    assert!(case.state_snapshot() == before, "report changed the state");
    let page = std::fs::read_to_string(case.path("fleet.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    assert!(!page.contains("src=\"http") && !page.contains("href=\"http"), "nothing to fetch");
    let data = inlined(&page);
    let m = &data["models"][0];

    // The status rows: every cell is status's, from the same facts status --json gives.
    let status = json(&case.run(["status", "--json"]));
    let model = &status["models"][0];
    let cells = row_cells(&page, "<tr data-model=\"SYNTH trending\">");
    assert_eq!(cells.len(), 10, "{cells:?}");
    assert_eq!(cells[0], "SYNTH trending");
    assert_eq!(cells[1], format!("v{}", model["production"]));
    let next = match (model["canary"]["version"].as_i64(), model["candidate"].as_i64()) {
        (Some(c), _) => format!("canary v{c} {}%", model["canary"]["traffic_split"]),
        (None, Some(c)) => format!("candidate v{c}"),
        (None, None) => "-".into(),
    };
    assert_eq!(cells[3], next);
    assert!(cells[4].ends_with(model["last_job"]["trigger"].as_str().unwrap()), "{}", cells[4]);
    let test = model["production_test_metric"].as_f64().unwrap();
    assert!(cells[5].starts_with(&format!("{test:.3} ")), "{} vs {test}", cells[5]);
    assert!(cells[5].ends_with(model["trend"].as_str().unwrap()), "{}", cells[5]);
    let (rate, signals) = (model["live_win_rate"].as_f64().unwrap(), model["live_signals"].as_u64().unwrap());
    assert_eq!(cells[6], format!("{:.0}% of {signals}", 100.0 * rate));
    assert!(cells[7].starts_with(model["drift"]["severity"].as_str().unwrap()), "{}", cells[7]);
    let needs = model["needs_retrain"].as_str().unwrap_or("no");
    assert!(cells[9].starts_with(needs), "{} vs {needs}", cells[9]);
    let open = status["open_alerts"].as_object().unwrap().values().filter_map(Value::as_u64).sum::<u64>();
    assert!(open >= 1, "the rollback raised an alert");
    assert!(page.contains(&format!("<p>{open} open: ")), "the alert count");
    assert!(page.contains("<td>automatic_rollback</td>"));
    let healthy = status["health"]["healthy"].as_bool().unwrap();
    assert!(page.contains(&format!("<p class=\"health\" data-healthy=\"{healthy}\">")));

    // The live win rate over time ends at the figure status reads with its own SQL.
    let w = &m["win_rate"];
    let last = w["t"].as_array().unwrap().len() - 1;
    assert_eq!(w["version"][last], model["production"]);
    assert_eq!(w["signals"][last].as_u64(), Some(signals));
    assert!((w["rate"][last].as_f64().unwrap() - rate).abs() <= 5e-7, "rounded to six decimals");
    assert!(w["version"].as_array().unwrap().contains(&Value::from(2)), "v2's signals are on the chart too");
    let resolved = count(&case, "SELECT COUNT(*) FROM signals WHERE resolved_at IS NOT NULL");
    assert!(page.contains(&format!("({resolved} resolved in the window)")));

    // The deployment record: history --json's rows, in the table and as the chart's marks.
    let history = json(&case.run(["history", "--json"]));
    let rows = history["deployments"].as_array().unwrap();
    let version = |v: &Value| v.as_i64().map_or("-".to_string(), |v| format!("v{v}"));
    for row in rows {
        let (at, action) = (row["at"].as_str().unwrap(), row["action"].as_str().unwrap());
        let cells = row_cells(&page, &format!("<tr data-at=\"{at}\" data-action=\"{action}\">"));
        assert_eq!(cells[2..5], [version(&row["from"]), version(&row["to"]), version(&row["canary"])]);
        assert_eq!((cells[5].as_str(), cells[6].as_str()), (row["by"].as_str().unwrap(), row["reason"].as_str().unwrap()));
    }
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["promote", "promote", "rollback"]);
    let marks: Vec<(i64, i64)> = (0..3).map(|k| (m["marks"]["a"][k].as_i64().unwrap(), m["marks"]["b"][k].as_i64().unwrap())).collect();
    assert_eq!(marks, [(0, 1), (0, 2), (1, 1)], "promoted v1, v2, rolled back to v1");
    let seconds = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis() as f64 / 1e3;
    assert_eq!(m["marks"]["t"][2].as_f64(), Some(seconds(rows[2]["at"].as_str().unwrap())));
    // The timeline: v1, v2, then v1 again, up to now.
    let live: Vec<Option<i64>> = m["timeline"]["a"].as_array().unwrap().iter().map(Value::as_i64).collect();
    assert_eq!(live, [Some(1), Some(2), Some(1), Some(1)]);
    // Every test and backtest of the window, with the gate metric status shows.
    let e = &m["evaluations"];
    let n = e["t"].as_array().unwrap().len();
    assert_eq!(n as i64, count(&case, "SELECT COUNT(*) FROM evaluations WHERE kind IN ('test', 'backtest')"));
    let v1_test = (0..n).find(|&i| e["version"][i] == 1 && e["kind"][i] == 0).unwrap();
    assert!((e["value"][v1_test].as_f64().unwrap() - test).abs() < 1e-6);
    // Drift: the checks of versions that went live, the newest the one status shows.
    let live_checks = count(
        &case,
        "SELECT COUNT(*) FROM drift_reports WHERE version_id IN (SELECT to_version_id FROM deployments)",
    );
    let ranks = m["drift"]["kind"].as_array().unwrap();
    assert!(live_checks >= 1);
    assert_eq!(ranks.len() as i64, live_checks);
    let severities = ["none", "low", "medium", "high", "critical"];
    assert_eq!(severities[ranks[ranks.len() - 1].as_u64().unwrap() as usize], model["drift"]["severity"]);
    assert!(page.contains("<table class=\"features\">"));
    // The gates of the latest deployment that checked them: the second promotion's.
    assert!(page.contains("<h4>Latest gates: promote of v2 at "));

    // The jobs: history --jobs --json's figures.
    let jobs = json(&case.run(["history", "--jobs", "--json"]));
    let listed = jobs["jobs"].as_array().unwrap();
    assert!(!listed.is_empty());
    let finished = jobs["finished"].as_u64().unwrap();
    let succeeded = (jobs["success_rate"].as_f64().unwrap() * finished as f64).round();
    let average = jobs["average_seconds"].as_f64().unwrap();
    assert!(page.contains(&format!("<p>{finished} finished in the window, {succeeded} succeeded")));
    assert!(page.contains(&format!("{average:.1} s on average.</p>")));
    for job in listed {
        let cells = row_cells(&page, &format!("<tr data-id=\"{}\">", job["id"]));
        assert_eq!(cells[4], job["status"].as_str().unwrap());
        assert_eq!(cells[6], version(&job["version"]));
    }
}

#[test]
fn bad_input_writes_nothing_and_names_what_is_wrong() {
    let case = Case::new();
    case.run(["report", "--out", "fleet.html"]).assert_exit(2).stderr_contains("no database at");
    let case = case.with_sample();
    case.run(["report", "--out", "fleet.txt"]).assert_exit(2).stderr_contains("name a .html file");
    case.run(["report", "--out", "fleet.html", "--days", "0"]).assert_exit(2).stderr_contains("--days");
    case.write("replay.json", "{\"policies\": []}");
    case.run(["report", "--out", "fleet.html", "--replay", "replay.json"])
        .assert_exit(2)
        .stderr_contains("--replay replay.json: not the JSON report of `retrain replay --json`");
    case.write(
        "replay.json",
        "{\"from\": \"2022-01-20T00:00:00Z\", \"to\": \"yesterday\", \"verdict\": \"\", \"policies\": [{\"name\": \"x\", \
         \"rule\": \"never\", \"fleet\": {\"total_return\": 0.0, \"sharpe\": null, \"max_drawdown\": 0.0, \"trades\": 0}, \
         \"counts\": {\"retrains\": 0, \"promotions\": 0, \"rollbacks\": 0}, \"curve\": {\"equity\": [], \"retrains\": [], \
         \"promotions\": [], \"rollbacks\": []}}]}",
    );
    case.run(["report", "--out", "fleet.html", "--replay", "replay.json"])
        .assert_exit(2)
        .stderr_contains("--replay replay.json: to \"yesterday\" is not an RFC 3339 time");
    case.run(["report", "--out", "fleet.html", "--replay", "missing.json"])
        .assert_exit(2)
        .stderr_contains("--replay missing.json: cannot read it");
    assert!(!case.path("fleet.html").exists() && !case.path("fleet.txt").exists());
    // Candles and no model yet: a page that says so.
    case.run(["report", "--out", "fleet.html"]).assert_exit(0).stdout_contains("(0 models");
    let page = std::fs::read_to_string(case.path("fleet.html")).unwrap();
    assert!(page.contains("No models yet"));
    assert!(page.contains("<td>SYNTH</td><td>5m</td><td>12960</td>"));
    assert_eq!(inlined(&page)["models"], serde_json::json!([]));
}
