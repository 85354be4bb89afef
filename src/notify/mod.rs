//! Alerts posted to a Slack-compatible incoming webhook: `{"text": ...}` as JSON, a
//! bounded timeout and a bounded number of retries. A post that fails is reported to the
//! caller, which records it; it never fails the run. Email, the other channel, is in
//! [`email`].

pub mod email;

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
            Err(e) => last = scrub(&e.to_string(), url),
        }
    }
    (settings.retries + 1, Err(last))
}

/// A webhook URL as it may be shown: its scheme and host, never its path or query, which
/// hold the secret (a Slack URL's token is its path).
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "***".into() };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials in the authority are a secret too.
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    if rest.len() > host.len() { format!("{scheme}://{host}/***") } else { format!("{scheme}://{host}") }
}

/// `text` with `url`, and the secret part of it, replaced by [`redact`]'s form: an error
/// of the HTTP client may quote what it was asked to reach.
fn scrub(text: &str, url: &str) -> String {
    let mut text = text.replace(url, &redact(url));
    if let Some((_, rest)) = url.split_once("://")
        && let Some(at) = rest.find(['/', '?'])
        && rest.len() - at > 1
    {
        text = text.replace(&rest[at..], "/***");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_is_shown_without_its_secret() {
        let url = "https://hooks.slack.com/services/T0/B0/secret";
        assert_eq!(redact(url), "https://hooks.slack.com/***");
        assert_eq!(redact("http://user:pw@127.0.0.1:9"), "http://127.0.0.1:9/***", "credentials hidden too");
        assert_eq!(redact("http://127.0.0.1:9"), "http://127.0.0.1:9");
        assert_eq!(redact("not a url /secret"), "***");
        let error = format!("cannot reach {url}: refused; path /services/T0/B0/secret");
        let scrubbed = scrub(&error, url);
        assert!(!scrubbed.contains("secret"), "{scrubbed}");
        assert!(scrubbed.contains("https://hooks.slack.com/***"), "{scrubbed}");
    }
}
