//! Alerts by email over SMTP (`notifications.email`): STARTTLS or implicit TLS through
//! rustls, a login with the password of `RETRAIN_SMTP_PASSWORD`, one plain-text message per
//! alert to every recipient. Retried and reported like a webhook post: a failure is the
//! caller's to record, never a failed run, and the password never appears in what is
//! returned.

use std::path::Path;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

use crate::config::{NotificationSettings, SmtpTls};
use crate::env_vars::RETRAIN_SMTP_PASSWORD;

/// An address as the config gives it: `alerts@example.com` or `Name <alerts@example.com>`.
pub fn mailbox(text: &str) -> Result<Mailbox, String> {
    text.trim().parse::<Mailbox>().map_err(|e| format!("{text:?} is not an email address: {e}"))
}

/// A connection's settings and the message's addresses, ready to send.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// Hidden from every error text.
    password: Option<String>,
    /// `smtp.example.com:587`, for messages.
    pub server: String,
}

impl Mailer {
    /// The mailer of `settings.email`, or `None` when email is off. An error says what is
    /// missing (the password variable, a readable CA file); `base_dir` resolves a relative
    /// `ca_file`. The environment is read here, not when the config is.
    pub fn new(settings: &NotificationSettings, base_dir: &Path) -> Result<Option<Mailer>, String> {
        let email = &settings.email;
        let Some(host) = email.smtp_host.as_deref().map(str::trim) else { return Ok(None) };
        let port = email.smtp_port.unwrap_or(email.tls.default_port());
        let from = mailbox(email.from.as_deref().unwrap_or_default())?;
        let to = email.to.iter().map(|to| mailbox(to)).collect::<Result<Vec<_>, _>>()?;

        let tls = match email.tls {
            SmtpTls::None => Tls::None,
            secured => {
                let mut params = TlsParameters::builder(host.to_string());
                if let Some(file) = &email.ca_file {
                    let path = base_dir.join(file);
                    let pem = std::fs::read(&path)
                        .map_err(|e| format!("notifications.email.ca_file {}: {e}", path.display()))?;
                    let ca = Certificate::from_pem(&pem).map_err(|e| {
                        format!("notifications.email.ca_file {}: no PEM certificate: {e}", path.display())
                    })?;
                    params = params.add_root_certificate(ca);
                }
                let params = params.build_rustls().map_err(|e| format!("TLS for {host}: {e}"))?;
                if secured == SmtpTls::Tls { Tls::Wrapper(params) } else { Tls::Required(params) }
            }
        };
        let mut builder = SmtpTransport::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(settings.timeout_secs)));
        let mut password = None;
        if let Some(user) = &email.username {
            let secret = std::env::var(RETRAIN_SMTP_PASSWORD).ok().filter(|p| !p.is_empty()).ok_or_else(|| {
                format!("{RETRAIN_SMTP_PASSWORD} is not set: it holds the password of notifications.email.username")
            })?;
            builder = builder.credentials(Credentials::new(user.clone(), secret.clone()));
            password = Some(secret);
        }
        Ok(Some(Mailer { transport: builder.build(), from, to, password, server: format!("{host}:{port}") }))
    }

    /// Send one message, retried `retries` more times after 0.2 s, 0.4 s, ... as a webhook
    /// post is; returns the attempts made and the last error if none succeeded.
    pub fn send(&self, retries: u32, subject: &str, text: &str) -> (u32, Result<(), String>) {
        let message = match self.message(subject, text) {
            Ok(message) => message,
            Err(e) => return (0, Err(e)),
        };
        let mut last = String::new();
        for attempt in 0..=retries {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(200 << (attempt - 1).min(5)));
            }
            match self.transport.send(&message) {
                Ok(_) => return (attempt + 1, Ok(())),
                Err(e) => last = self.scrub(&format!("{}: {e}", self.server)),
            }
        }
        (retries + 1, Err(last))
    }

    fn message(&self, subject: &str, text: &str) -> Result<Message, String> {
        let mut builder = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .header(ContentType::TEXT_PLAIN)
            .body(text.to_string())
            .map_err(|e| format!("the message: {e}"))
    }

    /// `text` without the password: a server's answer could quote what it was sent.
    fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(password) => text.replace(password.as_str(), "***"),
            None => text.to_string(),
        }
    }
}

/// The subject and body of an alert's email.
pub fn message(id: i64, severity: &str, kind: &str, text: &str) -> (String, String) {
    let subject = format!("[retrain] {} {kind}: {}", severity.to_uppercase(), first_line(text, 120));
    let body = format!(
        "{text}\n\nseverity: {severity}\nkind: {kind}\nalert: {id}\n\n\
         `retrain alerts` lists the open alerts; `retrain alerts ack {id}` acknowledges this one.\n"
    );
    (subject, body)
}

/// The first line of `text`, at most `max` characters.
fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= max {
        return line.to_string();
    }
    let mut short: String = line.chars().take(max - 3).collect();
    short.push_str("...");
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_with_or_without_a_name() {
        assert_eq!(mailbox("ops@example.com").unwrap().email.to_string(), "ops@example.com");
        let named = mailbox("retrain <alerts@example.com>").unwrap();
        assert_eq!(named.name.as_deref(), Some("retrain"));
        assert!(
            mailbox("not an address").unwrap_err().contains("\"not an address\" is not an email address")
        );
    }

    #[test]
    fn an_alert_is_a_short_subject_and_a_body_that_says_how_to_acknowledge_it() {
        let long = "x".repeat(300);
        let (subject, body) = message(7, "high", "drift", &format!("{long}\nsecond line"));
        assert_eq!(subject.chars().count(), "[retrain] HIGH drift: ".len() + 120);
        assert!(subject.ends_with("..."));
        assert!(body.contains("second line") && body.contains("retrain alerts ack 7"), "{body}");
    }
}
