//! Alerts posted to a Slack-compatible incoming webhook: `{"text": ...}` as JSON, a
//! bounded timeout and a bounded number of retries. A post that fails is reported to the
//! caller, which records it; it never fails the run.

use std::time::Duration;

use crate::config::NotificationSettings;

/// The Slack message body for an alert.
pub fn message(severity: &str, kind: &str, text: &str) -> String {
    serde_json::json!({ "text": format!("[retrain] {} {kind}: {text}", severity.to_uppercase()) }).to_string()
}

/// Post `body` to `url`; returns the attempts made and the last error if none succeeded.
/// A 2xx answer is delivered; anything else, or no answer within the timeout, is retried
/// `retries` more times after 0.2 s, 0.4 s, ... .
pub fn post(settings: &NotificationSettings, url: &str, body: &str) -> (u32, Result<(), String>) {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(settings.timeout_secs)))
        .http_status_as_error(false)
        .user_agent(concat!("retrain/", env!("CARGO_PKG_VERSION")))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut last = String::new();
    for attempt in 0..=settings.retries {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200 << (attempt - 1).min(5)));
        }
        match agent.post(url).header("Content-Type", "application/json").send(body) {
            Ok(response) if response.status().is_success() => return (attempt + 1, Ok(())),
            Ok(response) => last = format!("HTTP {}", response.status().as_u16()),
            Err(e) => last = e.to_string(),
        }
    }
    (settings.retries + 1, Err(last))
}
