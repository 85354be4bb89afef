//! Alerts reach people: `run` posts those at `notifications.min_severity` or above to a
//! webhook, retries, records each attempt, and never fails because the webhook does.
//! (Listing, acknowledging and resolving alerts with `alerts` is tested with the health
//! probe they drive, in `status`.)

use crate::support::http;
use crate::support::{Case, OPEN_GATES, count, data};

#[test]
fn alerts_are_posted_to_the_webhook_and_a_dead_webhook_never_fails_the_run() {
    let btc = data("btc-perp-20211231-20220201_1m.csv");
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let server = http::Server::start(move |_| {
        let first = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        http::Response::json(if first { 500 } else { 200 }, "ok")
    });
    let case = Case::new().config(&format!(
        "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n{OPEN_GATES}\
         notifications:\n  webhook_url: {}/hook\n  min_severity: high\n  retries: 1\n  timeout_secs: 5\n",
        server.url
    ));
    case.collect_5m("BTC", &btc).assert_exit(0);
    case.run(["queue", "add", "--symbol", "NOPE", "--regime", "trending", "--reason", "fails"])
        .assert_exit(0);
    let run = case.run(["run", "--now", "2022-02-01T06:00:00Z"]);
    run.assert_exit(1).stdout_contains("posted to the webhook");
    // Every alert at high or above: the first post got a 500 and was retried, unchanged.
    let bodies = server.bodies();
    let posted = count(&case, "SELECT COUNT(*) FROM alerts WHERE severity IN ('high', 'critical')");
    assert_eq!(bodies.len() as i64, posted + 1, "{bodies:?}");
    assert_eq!(bodies[0], bodies[1], "the retry posts the same alert");
    let texts: Vec<String> = bodies
        .iter()
        .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap()["text"].as_str().unwrap().to_string())
        .collect();
    assert!(texts.iter().any(|t| t.contains("HIGH training_failure: NOPE trending")), "{texts:?}");
    assert_eq!(count(&case, "SELECT COUNT(*) FROM notifications WHERE delivered = 1"), posted);

    // No server at all: the post fails, is recorded, and the run still succeeds.
    let dead = Case::new().config(&format!(
        "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n{OPEN_GATES}\
         notifications:\n  webhook_url: http://127.0.0.1:9/hook\n  min_severity: low\n  retries: 0\n  timeout_secs: 2\n"
    ));
    dead.collect_5m("BTC", &btc).assert_exit(0);
    dead.run(["run", "--now", "2022-02-01T06:00:00Z"]).assert_exit(0);
    // A drift check of the new production version raises an alert for the next run to post.
    dead.run(["drift-check", "--symbol", "BTC", "--regime", "trending"])
        .assert_exit(0)
        .stdout_contains("alert raised");
    dead.run(["run", "--now", "2022-02-01T07:00:00Z"])
        .assert_exit(0)
        .stdout_contains("not posted after 1 attempt(s)");
    // Not delivered, so the next run tries again.
    dead.run(["run", "--now", "2022-02-01T08:00:00Z"])
        .assert_exit(0)
        .stdout_contains("not posted after 1 attempt(s)");
    assert!(
        count(&dead, "SELECT COUNT(*) FROM notifications WHERE delivered = 0 AND error IS NOT NULL") >= 1
    );
}

/// A webhook URL carries its secret in its path (Slack's token): whatever happens to the
/// posts, the secret never appears in any output, error, record or JSON.
#[test]
fn the_webhook_secret_never_appears_in_output_errors_or_records() {
    const SECRET: &str = "T0SECRET/B0SECRET/xoxb4SECRET";
    let url = format!("http://127.0.0.1:9/services/{SECRET}");
    let case = Case::new()
        .config(&format!(
            "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n{OPEN_GATES}\
             notifications:\n  min_severity: low\n  retries: 0\n  timeout_secs: 2\n"
        ))
        .env("RETRAIN_NOTIFICATIONS_WEBHOOK_URL", &url);
    case.collect_5m("BTC", &data("btc-perp-20211231-20220201_1m.csv")).assert_exit(0);
    let mut outputs = vec![case.run(["run", "--now", "2022-02-01T06:00:00Z"])];
    outputs.push(case.run(["drift-check", "--symbol", "BTC", "--regime", "trending"]));
    let failed = case.run(["run", "--now", "2022-02-01T07:00:00Z"]);
    failed.assert_exit(0).stdout_contains("not posted after 1 attempt(s)");
    outputs.push(failed);
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["alerts", "--all", "--json"],
        &["history", "--jobs", "--json"],
        &["check", "--json"],
        &["schedule", "--github-actions"],
    ] {
        outputs.push(case.run(args.iter().copied()));
    }
    // A bad URL is refused by name, without its path.
    let bad = format!("ftp://hooks.example/{SECRET}");
    let refused = case.run_with_env(&[("RETRAIN_NOTIFICATIONS_WEBHOOK_URL", &bad)], ["status"]);
    refused.assert_exit(2).stderr_contains("notifications.webhook_url").stderr_contains("ftp://hooks.example/***");
    outputs.push(refused);
    for run in &outputs {
        assert!(!run.stdout.contains("SECRET") && !run.stderr.contains("SECRET"), "the secret leaked: {run:?}");
    }
    assert!(!case.dump_all().contains("SECRET"), "the secret was recorded");
}

/// Email's config is checked whole before anything is sent (the emails themselves are
/// sent to a real SMTP server in the server suite: tests/cli/email.rs).
#[test]
fn a_half_configured_email_is_refused_by_key() {
    for (yaml, message) in [
        ("notifications:\n  email:\n    to: [a@b.test]\n", "notifications.email.to: set notifications.email.smtp_host too"),
        (
            "notifications:\n  email:\n    smtp_host: 127.0.0.1\n    to: [a@b.test]\n",
            "notifications.email.from: expected the sender's address",
        ),
        (
            "notifications:\n  email:\n    smtp_host: 127.0.0.1\n    from: a@b.test\n    to: [nobody]\n",
            "notifications.email.to[0]: \"nobody\" is not an email address",
        ),
        (
            "notifications:\n  email:\n    smtp_host: 127.0.0.1\n    tls: none\n    username: u\n    from: a@b.test\n    to: [c@d.test]\n",
            "notifications.email.username: a password is never sent unencrypted",
        ),
    ] {
        let case = Case::new().config(yaml);
        case.run(["status"]).assert_exit(2).stderr_contains(message);
    }
}
