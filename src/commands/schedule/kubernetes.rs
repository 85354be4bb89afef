//! The Kubernetes manifests of a fleet: a ConfigMap of the config file, a CronJob whose
//! pods each call `retrain run` (an Indexed Job of `--workers` pods), and a template of the
//! Secret the pods take the database's URL and the object store's keys from.

use super::fleet::Fleet;
use crate::config::Resolved;
use crate::error::Failure;

/// Where the Kubernetes pods read the config file (the ConfigMap's mount).
const CONFIG_DIR: &str = "/etc/retrain";

/// The Kubernetes manifests of a fleet: the ConfigMap of the config file, the CronJob of
/// `workers` pods, and the Secret template, as YAML documents.
pub fn manifests(resolved: &Resolved, cron: &str, workers: u32) -> anyhow::Result<String> {
    let fleet = Fleet::read(resolved, "--kubernetes", "pod")?;
    let file_password = password(&fleet.file_database).filter(|p| !p.is_empty());
    if crate::store::is_postgres_url(&fleet.file_database) && file_password.is_some() {
        return Err(Failure::Usage(
            "--kubernetes: state.database in the config file holds a password, which a ConfigMap \
             shows to anyone who can read it: leave it out of the file and give the whole URL to \
             the pods in the Secret's RETRAIN_DATABASE_URL"
                .into(),
        )
        .into());
    }
    Ok([config_map(&fleet.text), cron_job(cron, workers), secret(&fleet)].join("---\n"))
}

fn config_map(text: &str) -> String {
    format!(
        r#"# The config file of retrain, mounted read-only at {CONFIG_DIR}/config.yaml in every pod.
# No secret belongs here: the Secret `retrain` holds the database's URL with its password
# (RETRAIN_DATABASE_URL, which wins over state.database) and the object store's keys.
apiVersion: v1
kind: ConfigMap
metadata:
  name: retrain-config
  labels:
    app.kubernetes.io/name: retrain
data:
  config.yaml: {}
"#,
        yaml_text(text, 2)
    )
}

fn cron_job(cron: &str, workers: u32) -> String {
    let version = env!("CARGO_PKG_VERSION");
    format!(
        r#"# Calls `retrain run` in {workers} pods at once, as often as schedule.jobs needs (UTC). Each
# pod plans or joins: the first to take the state's advisory lock collects the data and
# queues the due jobs, the others wait for the plan, then all claim jobs until none is
# left. Forbid: while a run still works, the next start is skipped; the one after catches
# up. A failed pod is retried (backoffLimit): the retry is a new `retrain run`, which does
# only what is still due. The image is the one deploy/Dockerfile builds: give it your
# registry's name (kustomize's `images:`, or here).
apiVersion: batch/v1
kind: CronJob
metadata:
  name: retrain
  labels:
    app.kubernetes.io/name: retrain
spec:
  schedule: "{cron}"
  timeZone: Etc/UTC
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 300
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 3
  jobTemplate:
    metadata:
      labels:
        app.kubernetes.io/name: retrain
    spec:
      completionMode: Indexed
      completions: {workers}
      parallelism: {workers}
      backoffLimit: 3
      activeDeadlineSeconds: 7200
      template:
        metadata:
          labels:
            app.kubernetes.io/name: retrain
        spec:
          restartPolicy: Never
          automountServiceAccountToken: false
          securityContext:
            runAsNonRoot: true
            runAsUser: 10001
            runAsGroup: 10001
            seccompProfile:
              type: RuntimeDefault
          containers:
            - name: retrain
              image: retrain:{version}
              command: ["retrain", "run", "--config", "{CONFIG_DIR}/config.yaml"]
              envFrom:
                - secretRef:
                    name: retrain
              resources:
                requests:
                  cpu: "1"
                  memory: 1Gi
                limits:
                  cpu: "2"
                  memory: 4Gi
              securityContext:
                allowPrivilegeEscalation: false
                readOnlyRootFilesystem: true
                capabilities:
                  drop: ["ALL"]
              volumeMounts:
                - name: config
                  mountPath: {CONFIG_DIR}
                  readOnly: true
                - name: tmp
                  mountPath: /tmp
          volumes:
            - name: config
              configMap:
                name: retrain-config
            - name: tmp
              emptyDir: {{}}
"#
    )
}

fn secret(fleet: &Fleet) -> String {
    let mut create = String::from("#   kubectl create secret generic retrain \\\n");
    create.push_str("#     --from-literal=RETRAIN_DATABASE_URL=\"$RETRAIN_DATABASE_URL\"");
    let mut values = format!(
        "  {}: {}\n",
        crate::env_vars::RETRAIN_DATABASE_URL,
        quoted(&with_password(&fleet.database_url, "PASSWORD"))
    );
    for (name, flag) in fleet.store.credentials() {
        create.push_str(&format!(" \\\n#     {flag}"));
        values.push_str(&format!("  {name}: \"CHANGE-ME\"\n"));
    }
    format!(
        r#"# The Secret the pods take their environment from, as a template: the values are
# placeholders. Put no real value in this file, and do not apply it: `kubectl apply` would
# overwrite the real Secret with these placeholders. Create that one from your shell:
{create}
# ({note}).
apiVersion: v1
kind: Secret
metadata:
  name: retrain
  labels:
    app.kubernetes.io/name: retrain
type: Opaque
stringData:
{values}"#,
        note = fleet.store.note(),
    )
}

/// Where a URL's authority is: after `scheme://`, up to its path or query.
fn authority(url: &str) -> std::ops::Range<usize> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..].find(['/', '?']).map_or(url.len(), |i| start + i);
    start..end
}

/// The password of `postgres://user:password@host/db`, if the URL has one.
fn password(url: &str) -> Option<&str> {
    let authority = &url[authority(url)];
    let userinfo = &authority[..authority.rfind('@')?];
    userinfo.split_once(':').map(|(_, password)| password)
}

/// The URL with `password` as its password (and USER as its user if it names none).
fn with_password(url: &str, password: &str) -> String {
    let range = authority(url);
    let authority = &url[range.clone()];
    let (user, host) = match authority.rfind('@') {
        Some(at) => (authority[..at].split(':').next().unwrap_or_default(), &authority[at + 1..]),
        None => ("", authority),
    };
    let user = if user.is_empty() { "USER" } else { user };
    format!("{}{user}:{password}@{host}{}", &url[..range.start], &url[range.end..])
}

/// `text` as the YAML value of a key at `key_indent` spaces: a literal block, its lines two
/// spaces deeper, that keeps every character (the chomping indicator says how many
/// newlines end it), or a double-quoted string when a literal block cannot hold it (a
/// carriage return, a control character, a text of blank lines).
fn yaml_text(text: &str, key_indent: usize) -> String {
    let breaks = |c: char| c == '\r' || c == '\u{85}' || c == '\u{2028}' || c == '\u{2029}';
    let printable =
        text.chars().all(|c| c == '\n' || c == '\t' || !(c.is_control() || breaks(c) || c == '\u{feff}'));
    let body = text.trim_end_matches('\n');
    if !printable || body.trim().is_empty() {
        return quoted(text);
    }
    let trailing = text.len() - body.len();
    let chomping = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    // YAML takes the block's indentation from its first line that is not empty; a first
    // line that starts with a space (or is only spaces) needs it said, relative to the key.
    let first = body.split('\n').find(|line| !line.is_empty()).unwrap_or_default();
    let explicit = if first.starts_with(' ') || first.trim().is_empty() { "2" } else { "" };
    let pad = " ".repeat(key_indent + 2);
    let mut block = format!("|{explicit}{chomping}\n");
    for line in body.split('\n') {
        if !line.is_empty() {
            block.push_str(&pad);
            block.push_str(line);
        }
        block.push('\n');
    }
    block.push_str(&"\n".repeat(trailing.saturating_sub(1)));
    block.pop();
    block
}

/// A YAML double-quoted string (also valid JSON) of `text`.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
