//! Alerts by email: `run` sends those at `notifications.min_severity` or above through a
//! real SMTP server on loopback (aiosmtpd, started by scripts/test-servers/smtp.sh, which
//! `.ci/run` runs; `TEST_SMTP_DIR` names its folder), over STARTTLS and over implicit TLS,
//! logged in with the password of `RETRAIN_SMTP_PASSWORD`. A refused login is recorded and
//! retried by the next run, and the password never appears anywhere.
//!
//! Part of the server suite (`cargo test --test cli_postgres`), not of a bare `cargo test`,
//! which needs no server.

use std::path::PathBuf;

use crate::support::{Case, OPEN_GATES, Run, count, data};

/// The test server's folder: its CA, password, ports and the messages it accepted.
struct Smtp {
    dir: PathBuf,
}

impl Smtp {
    fn get() -> Smtp {
        let dir = std::env::var_os("TEST_SMTP_DIR").expect(
            "TEST_SMTP_DIR names the folder of scripts/test-servers/smtp.sh's server (.ci/run starts one)",
        );
        Smtp { dir: dir.into() }
    }

    fn read(&self, name: &str) -> String {
        let path = self.dir.join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .to_string()
    }

    fn password(&self) -> String {
        self.read("password")
    }

    /// The messages accepted for `recipient`, oldest first.
    fn mail_to(&self, recipient: &str) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("mail"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .filter(|m| m.lines().nth(1).is_some_and(|line| line == format!("X-Envelope-To: {recipient}")))
            .collect()
    }

    /// The config of a BTC fleet that emails `to` through the server, over `tls`.
    fn config(&self, tls: &str, to: &str) -> String {
        let port = if tls == "tls" { self.read("tls_port") } else { self.read("port") };
        format!(
            "symbols:\n  - symbol: BTC\n    interval: 5m\n    regimes: [trending]\n{OPEN_GATES}\
             notifications:\n  min_severity: high\n  retries: 1\n  timeout_secs: 10\n  email:\n    \
             smtp_host: 127.0.0.1\n    smtp_port: {port}\n    tls: {tls}\n    username: retrain\n    \
             from: retrain <alerts@retrain.test>\n    to: [{to}]\n    ca_file: {}\n",
            self.dir.join("ca.pem").display()
        )
    }
}

/// A case with the BTC month collected and a job queued that fails: its run raises a
/// high `training_failure` alert.
fn failing_fleet(config: &str) -> Case {
    let case = Case::new().config(config);
    case.collect_5m("BTC", &data("btc-perp-20211231-20220201_1m.csv")).assert_exit(0);
    case.run(["queue", "add", "--symbol", "NOPE", "--regime", "trending", "--reason", "fails"])
        .assert_exit(0);
    case
}

/// A recipient no other test run has used: the server keeps every message it accepted.
fn recipient(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{name}-{}-{nanos}@retrain.test", std::process::id())
}

fn high_alerts(case: &Case) -> i64 {
    count(case, "SELECT COUNT(*) FROM alerts WHERE severity IN ('high', 'critical')")
}

#[test]
fn alerts_are_emailed_over_starttls_with_a_login() {
    let smtp = Smtp::get();
    let to = &recipient("oncall-starttls");
    let case = failing_fleet(&smtp.config("starttls", to)).env("RETRAIN_SMTP_PASSWORD", &smtp.password());
    let run = case.run(["run", "--now", "2022-02-01T06:00:00Z"]);
    run.assert_exit(1).stdout_contains(&format!("emailed through 127.0.0.1:{}", smtp.read("port")));

    let mail = smtp.mail_to(to);
    let alerts = high_alerts(&case);
    assert!(alerts >= 1);
    assert_eq!(mail.len() as i64, alerts, "one message per alert: {mail:?}");
    let failure =
        mail.iter().find(|m| m.contains("HIGH training_failure: NOPE trending")).expect("the job's alert");
    assert!(failure.contains("X-Envelope-From: alerts@retrain.test"), "{failure}");
    assert!(failure.contains("From: retrain <alerts@retrain.test>"), "{failure}");
    assert!(failure.contains("retrain alerts ack"), "{failure}");
    assert_eq!(
        count(&case, "SELECT COUNT(*) FROM notifications WHERE channel = 'email' AND delivered = 1"),
        alerts
    );
    // Delivered once: the next run sends nothing again.
    case.run(["run", "--now", "2022-02-01T06:05:00Z"]);
    assert_eq!(smtp.mail_to(to).len(), mail.len());
}

#[test]
fn alerts_are_emailed_over_implicit_tls() {
    let smtp = Smtp::get();
    let to = &recipient("oncall-tls");
    let case = failing_fleet(&smtp.config("tls", to)).env("RETRAIN_SMTP_PASSWORD", &smtp.password());
    case.run(["run", "--now", "2022-02-01T06:00:00Z"])
        .assert_exit(1)
        .stdout_contains(&format!("emailed through 127.0.0.1:{}", smtp.read("tls_port")));
    assert_eq!(smtp.mail_to(to).len() as i64, high_alerts(&case));
}

/// A refused login (or no password at all) is recorded, never fails the run, and the next
/// run tries again; the password shows nowhere: not in output, errors, JSON or records.
#[test]
fn a_refused_login_is_recorded_and_retried_and_the_password_never_shows() {
    let smtp = Smtp::get();
    let to = &recipient("oncall-retry");
    let wrong = "Wr0ngPassw0rdSECRET";
    let case = failing_fleet(&smtp.config("starttls", to));
    let mut outputs: Vec<Run> = Vec::new();

    let unset = case.run(["run", "--now", "2022-02-01T06:00:00Z"]);
    unset.assert_exit(1).stdout_contains("not emailed after 0 attempt(s): RETRAIN_SMTP_PASSWORD is not set");
    let refused =
        case.run_with_env(&[("RETRAIN_SMTP_PASSWORD", wrong)], ["run", "--now", "2022-02-01T06:05:00Z"]);
    refused.assert_exit(0).stdout_contains("not emailed after 2 attempt(s)");
    assert!(smtp.mail_to(to).is_empty());
    assert!(
        count(
            &case,
            "SELECT COUNT(*) FROM notifications WHERE channel = 'email' AND delivered = 0 AND attempts = 2"
        ) >= 1
    );
    outputs.extend([unset, refused]);

    let right = smtp.password();
    let sent =
        case.run_with_env(&[("RETRAIN_SMTP_PASSWORD", &right)], ["run", "--now", "2022-02-01T06:10:00Z"]);
    sent.assert_exit(0).stdout_contains("emailed through");
    assert_eq!(smtp.mail_to(to).len() as i64, high_alerts(&case), "each alert once, after the retries");
    outputs.push(sent);

    for args in [&["status", "--json"][..], &["alerts", "--all", "--json"], &["check", "--json"]] {
        outputs.push(case.run_with_env(&[("RETRAIN_SMTP_PASSWORD", &right)], args.iter().copied()));
    }
    for run in &outputs {
        for secret in [wrong, right.as_str()] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "the password leaked: {run:?}"
            );
        }
    }
    let state = case.dump_all();
    assert!(!state.contains(wrong) && !state.contains(&right), "a password was recorded");
}
