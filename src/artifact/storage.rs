//! Where artifacts live: a local folder (the default), or an object store named by a URL
//! (`s3://bucket/prefix`, `gs://`, `az://`), reached through the `object_store` crate.
//! `file://` names a local folder.
//!
//! The publishing protocol is the same guarantee on both. A version exists when its
//! registry row exists, and that row is written only after its manifest:
//! - in a folder, the files are written to a temporary folder, synced, and the folder is
//!   renamed to its final name;
//! - in an object store, which has no rename, the data files are put at their final keys
//!   and read back to check their SHA-256, then the manifest is put last, with a
//!   conditional put (`If-None-Match: *`) so that it never replaces one already published.
//!   Data files without a manifest belong to no version; readers start from the manifest.
//!
//! Object stores are asynchronous; every call here blocks on one runtime shared by the
//! process, so callers (job threads included) stay synchronous.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, ObjectStoreScheme, PutMode, PutOptions, PutPayload};

use super::sha256_hex;

/// The schemes of object stores; anything else is a folder path.
pub const SCHEMES: [&str; 6] = ["s3", "s3a", "gs", "az", "abfs", "abfss"];

/// An artifact store.
#[derive(Clone)]
pub enum Models {
    Local(PathBuf),
    Remote(Remote),
}

/// An object store and the prefix under which the models are.
#[derive(Clone)]
pub struct Remote {
    /// The URL as configured, without a trailing slash.
    url: String,
    store: Arc<dyn ObjectStore>,
    prefix: Key,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

/// Whether `text` names an object store rather than a folder.
pub fn is_url(text: &str) -> bool {
    scheme(text).is_some_and(|s| SCHEMES.contains(&s.as_str()) || s == "file")
}

fn scheme(text: &str) -> Option<String> {
    let (scheme, _) = text.split_once("://")?;
    let plain = !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+');
    plain.then(|| scheme.to_ascii_lowercase())
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("retrain-objects")
            .enable_all()
            .build()
            .expect("the object store's runtime starts")
    })
}

impl Models {
    /// The artifact store that `state.models_dir` names: a URL of an object store, a
    /// `file://` URL, or a folder relative to `base_dir`. Credentials and endpoints come
    /// from the environment (`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT`, `GOOGLE_SERVICE_ACCOUNT`,
    /// `AZURE_STORAGE_ACCOUNT_NAME`, ...), as the cloud's own tools read them. Building
    /// one makes no request.
    pub fn open(setting: &str, base_dir: &Path) -> Result<Models, String> {
        Models::open_with(setting, base_dir, &[])
    }

    /// [`Models::open`] with settings of the object store's builder (`aws_endpoint`,
    /// `aws_access_key_id`, ...) that take precedence over the environment's.
    pub fn open_with(setting: &str, base_dir: &Path, options: &[(&str, &str)]) -> Result<Models, String> {
        let Some(scheme) = scheme(setting) else {
            return Ok(Models::Local(base_dir.join(setting)));
        };
        if scheme == "file" {
            let url = url::Url::parse(setting).map_err(|e| format!("{setting}: {e}"))?;
            let path = url.to_file_path().map_err(|()| format!("{setting}: not an absolute file path"))?;
            return Ok(Models::Local(path));
        }
        if !SCHEMES.contains(&scheme.as_str()) {
            return Err(format!(
                "{setting}: unknown scheme {scheme}:// (a folder path, file://, s3://, gs:// or az://)"
            ));
        }
        let url = url::Url::parse(setting).map_err(|e| format!("{setting}: {e}"))?;
        if url.host_str().unwrap_or("").is_empty() {
            return Err(format!("{setting}: no bucket or container"));
        }
        let (kind, path) = ObjectStoreScheme::parse(&url).map_err(|e| format!("{setting}: {e}"))?;
        let prefix = Key::parse(path).map_err(|e| format!("{setting}: {e}"))?;
        let store = build(kind, &url, options).map_err(|e| format!("{setting}: {}", brief(&e)))?;
        Ok(Models::Remote(Remote { url: setting.trim_end_matches('/').to_string(), store, prefix }))
    }

    /// Where the models are, as the user named it.
    pub fn display(&self) -> String {
        match self {
            Models::Local(path) => path.display().to_string(),
            Models::Remote(remote) => remote.url.clone(),
        }
    }

    /// Whether this is an object store.
    pub fn is_remote(&self) -> bool {
        matches!(self, Models::Remote(_))
    }

    /// The full location of `relative` (a '/'-separated path under the root), for messages.
    pub fn locate(&self, relative: &str) -> String {
        match self {
            Models::Local(path) => path.join(relative).display().to_string(),
            Models::Remote(remote) => format!("{}/{relative}", remote.url),
        }
    }

    /// Make the store ready for use: a folder is created; a bucket must exist and be
    /// readable with the credentials given (a list request says so).
    pub fn prepare(&self) -> anyhow::Result<()> {
        match self {
            Models::Local(path) => {
                std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))
            }
            Models::Remote(_) => self.list().map(|_| ()),
        }
    }

    /// A file's bytes; the error names the file.
    pub fn get(&self, relative: &str) -> Result<Vec<u8>, String> {
        match self {
            Models::Local(path) => {
                let path = path.join(relative);
                std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
            }
            Models::Remote(remote) => {
                let key = remote.key(relative);
                runtime()
                    .block_on(async { remote.store.get(&key).await?.bytes().await })
                    .map(|bytes| bytes.to_vec())
                    .map_err(|e| format!("{}: {}", self.locate(relative), brief(&e)))
            }
        }
    }

    /// Write one file durably: in a folder to a temporary name, synced, then renamed; in
    /// an object store by one put, which is atomic. With `create_only`, an existing file
    /// is an error and stays as it was.
    pub fn put(&self, relative: &str, bytes: &[u8], create_only: bool) -> anyhow::Result<()> {
        match self {
            Models::Local(root) => {
                let path = root.join(relative);
                if create_only && path.exists() {
                    anyhow::bail!("{} exists already", path.display());
                }
                crate::output::write_atomic(&path, bytes)
            }
            Models::Remote(remote) => {
                let key = remote.key(relative);
                let mode = if create_only { PutMode::Create } else { PutMode::Overwrite };
                let payload = PutPayload::from(bytes.to_vec());
                runtime()
                    .block_on(remote.store.put_opts(&key, payload, PutOptions::from(mode)))
                    .map(|_| ())
                    .map_err(|e| match e {
                        object_store::Error::AlreadyExists { .. } => {
                            anyhow::anyhow!("{} exists already", self.locate(relative))
                        }
                        e => anyhow::anyhow!("writing {}: {}", self.locate(relative), brief(&e)),
                    })
            }
        }
    }

    /// Every file under the root, as '/'-separated relative paths in byte order, with its
    /// size. Temporary folders that a killed writer left in a local store are not listed.
    pub fn list(&self) -> anyhow::Result<Vec<(String, u64)>> {
        let mut files = match self {
            Models::Local(root) => {
                let mut files = Vec::new();
                if root.exists() {
                    walk(root, "", &mut files)?;
                }
                files
            }
            Models::Remote(remote) => {
                use futures_util::TryStreamExt;
                let prefix = (!remote.prefix.as_ref().is_empty()).then_some(&remote.prefix);
                let listed: Vec<object_store::ObjectMeta> = runtime()
                    .block_on(remote.store.list(prefix).try_collect())
                    .map_err(|e| anyhow::anyhow!("listing {}: {}", remote.url, brief(&e)))?;
                let skip = remote.prefix.as_ref().len() + usize::from(prefix.is_some());
                listed.into_iter().map(|m| (m.location.as_ref()[skip..].to_string(), m.size)).collect()
            }
        };
        files.sort();
        Ok(files)
    }

    /// Publish a version's files under `relative`: the data files, then the manifest
    /// (see the module's comment). A local folder left at the final name by a crash
    /// before its registry row was written is replaced: the registry, not the folder,
    /// says a version exists.
    pub fn publish(
        &self,
        relative: &str,
        files: &[(&str, &[u8])],
        manifest: (&str, &[u8]),
    ) -> anyhow::Result<()> {
        match self {
            Models::Local(root) => publish_local(root, Path::new(relative), files, manifest),
            Models::Remote(_) => {
                for (name, bytes) in files {
                    let path = format!("{relative}/{name}");
                    self.put(&path, bytes, false)?;
                    let back = self.get(&path).map_err(|e| anyhow::anyhow!("reading back {e}"))?;
                    if sha256_hex(&back) != sha256_hex(bytes) {
                        anyhow::bail!("{}: the stored bytes differ from those written", self.locate(&path));
                    }
                }
                crate::failpoint::hit("artifact:files-synced");
                self.put(&format!("{relative}/{}", manifest.0), manifest.1, true).with_context(|| {
                    format!(
                        "publishing {}: does another state write to {}?",
                        self.locate(relative),
                        self.display()
                    )
                })
            }
        }
    }

    /// Remove temporary folders that a writer which died left under `<SYMBOL>/<regime>/`
    /// of a local store (one whose process is alive is still writing). An object store has
    /// no temporary keys to remove.
    pub fn remove_leftovers(&self, symbol: &str, regime: &str) {
        let Models::Local(root) = self else { return };
        let folder = root.join(symbol).join(regime);
        let Ok(entries) = std::fs::read_dir(&folder) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_temporary(&name) && !temporary_writer(&name).is_some_and(crate::lock::pid_alive) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    /// The temporary folders of a local store (`<SYMBOL>/<regime>/.vN.tmp-PID`), as
    /// relative paths with the pid of their writer; none in an object store.
    pub fn temporaries(&self) -> anyhow::Result<Vec<(String, Option<i64>)>> {
        let Models::Local(root) = self else { return Ok(Vec::new()) };
        let mut found = Vec::new();
        for (symbol, regime) in subfolders(root)?.into_iter().flat_map(|s| {
            let path = root.join(&s);
            subfolders(&path).unwrap_or_default().into_iter().map(move |r| (s.clone(), r))
        }) {
            let folder = root.join(&symbol).join(&regime);
            let entries =
                std::fs::read_dir(&folder).with_context(|| format!("listing {}", folder.display()))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if is_temporary(&name) {
                    found.push((format!("{symbol}/{regime}/{name}"), temporary_writer(&name)));
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// Delete every file under `relative` (a version's folder, or a temporary one), and
    /// the folder; nothing there is no error.
    pub fn remove_dir(&self, relative: &str) -> anyhow::Result<()> {
        match self {
            Models::Local(root) => {
                let path = root.join(relative);
                match std::fs::remove_dir_all(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        Err(anyhow::anyhow!("removing {}: {e}", path.display()))
                    }
                    _ => Ok(()),
                }
            }
            Models::Remote(remote) => {
                use futures_util::TryStreamExt;
                let prefix = remote.key(relative);
                let keys: Vec<Key> = runtime()
                    .block_on(remote.store.list(Some(&prefix)).map_ok(|m| m.location).try_collect())
                    .map_err(|e| anyhow::anyhow!("listing {}: {}", self.locate(relative), brief(&e)))?;
                for key in keys {
                    runtime()
                        .block_on(remote.store.delete(&key))
                        .map_err(|e| anyhow::anyhow!("deleting {}: {}", key, brief(&e)))?;
                }
                Ok(())
            }
        }
    }
}

/// The pid in a temporary folder's name (`.vN.tmp-PID`).
fn temporary_writer(name: &str) -> Option<i64> {
    name.rsplit_once(".tmp-").and_then(|(_, pid)| pid.parse().ok())
}

/// The names of the folders directly in `path` (none when it does not exist).
fn subfolders(path: &Path) -> anyhow::Result<Vec<String>> {
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow::anyhow!("listing {}: {e}", path.display())),
    };
    Ok(entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !is_temporary(name))
        .collect())
}

/// A client of the store at `url`: the environment's settings, then the URL's, then
/// `options`.
fn build(
    kind: ObjectStoreScheme,
    url: &url::Url,
    options: &[(&str, &str)],
) -> object_store::Result<Arc<dyn ObjectStore>> {
    use object_store::{aws::AmazonS3Builder, azure::MicrosoftAzureBuilder, gcp::GoogleCloudStorageBuilder};
    macro_rules! configured {
        ($builder:expr) => {{
            let builder = options.iter().fold($builder.with_url(url.as_str()), |builder, (key, value)| {
                match key.to_ascii_lowercase().parse() {
                    Ok(key) => builder.with_config(key, *value),
                    Err(_) => builder,
                }
            });
            Arc::new(builder.build()?) as Arc<dyn ObjectStore>
        }};
    }
    Ok(match kind {
        ObjectStoreScheme::AmazonS3 => configured!(AmazonS3Builder::from_env()),
        ObjectStoreScheme::GoogleCloudStorage => configured!(GoogleCloudStorageBuilder::from_env()),
        ObjectStoreScheme::MicrosoftAzure => configured!(MicrosoftAzureBuilder::from_env()),
        other => {
            return Err(object_store::Error::NotSupported {
                source: format!("{other:?} is not an object store retrain writes to").into(),
            });
        }
    })
}

impl Remote {
    fn key(&self, relative: &str) -> Key {
        relative
            .split('/')
            .filter(|part| !part.is_empty())
            .fold(self.prefix.clone(), |key, part| key.join(part))
    }
}

/// The first line of an object store's error: its sources repeat the request at length.
fn brief(error: &object_store::Error) -> String {
    match error {
        object_store::Error::NotFound { .. } => "not found".to_string(),
        e => e.to_string().lines().next().unwrap_or_default().to_string(),
    }
}

fn is_temporary(name: &str) -> bool {
    name.starts_with(".v") && name.contains(".tmp-")
}

fn walk(folder: &Path, relative: &str, files: &mut Vec<(String, u64)>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(folder).with_context(|| format!("listing {}", folder.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", folder.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if relative.is_empty() { name.clone() } else { format!("{relative}/{name}") };
        let kind = entry.file_type().with_context(|| format!("reading {}", entry.path().display()))?;
        if kind.is_dir() {
            if !is_temporary(&name) {
                walk(&entry.path(), &path, files)?;
            }
        } else if !name.contains(".tmp-") {
            let size = entry.metadata().with_context(|| format!("reading {}", entry.path().display()))?.len();
            files.push((path, size));
        }
    }
    Ok(())
}

fn publish_local(
    root: &Path,
    relative: &Path,
    files: &[(&str, &[u8])],
    manifest: (&str, &[u8]),
) -> anyhow::Result<()> {
    use std::io::Write;
    let target = root.join(relative);
    let parent = target.parent().unwrap_or(root).to_path_buf();
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if temporary.exists() {
        std::fs::remove_dir_all(&temporary).with_context(|| format!("removing {}", temporary.display()))?;
    }
    std::fs::create_dir(&temporary).with_context(|| format!("creating {}", temporary.display()))?;
    let written = files.iter().chain([&manifest]).try_for_each(|(name, bytes)| {
        let path = temporary.join(name);
        let mut file = std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", path.display()))
    });
    if let Err(e) = written {
        // A full disk or a file-size limit: nothing half-written stays behind (should the
        // removal fail too, the next train or run removes the folder of a dead writer).
        let _ = std::fs::remove_dir_all(&temporary);
        return Err(e);
    }
    sync_dir(&temporary);
    crate::failpoint::hit("artifact:files-synced");
    if target.exists() {
        std::fs::remove_dir_all(&target)
            .with_context(|| format!("removing the stale {}", target.display()))?;
    }
    std::fs::rename(&temporary, &target)
        .with_context(|| format!("renaming {} to {}", temporary.display(), target.display()))?;
    sync_dir(&parent);
    Ok(())
}

fn sync_dir(path: &Path) {
    if let Ok(dir) = std::fs::File::open(path) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_folders() {
        let base = Path::new("/srv/retrain");
        assert!(matches!(Models::open("models", base), Ok(Models::Local(p)) if p == base.join("models")));
        assert!(
            matches!(Models::open("file:///data/models", base), Ok(Models::Local(p)) if p == Path::new("/data/models"))
        );
        let remote = Models::open("s3://desk-models/retrain/", base).expect("an s3 URL");
        assert_eq!(remote.display(), "s3://desk-models/retrain");
        assert_eq!(
            remote.locate("BTCUSDT/trend/v1/model.json"),
            "s3://desk-models/retrain/BTCUSDT/trend/v1/model.json"
        );
        let Models::Remote(r) = &remote else { panic!("s3:// is remote") };
        assert_eq!(r.key("BTCUSDT/trend/v1/model.json").as_ref(), "retrain/BTCUSDT/trend/v1/model.json");
        assert!(Models::open("ftp://host/models", base).unwrap_err().contains("unknown scheme ftp://"));
        assert!(Models::open("s3:///models", base).unwrap_err().contains("no bucket"));
        assert!(Models::open("file://relative", base).is_err());
        assert!(!is_url("models") && is_url("gs://b/p") && is_url("file:///x") && !is_url("C:\\models"));
    }

    #[test]
    fn a_local_store_lists_what_it_holds_but_no_temporary_folder() {
        let dir = tempfile::tempdir().unwrap();
        let models = Models::Local(dir.path().to_path_buf());
        models.publish("A/trend/v1", &[("model.json", b"m")], ("manifest.json", b"{}")).unwrap();
        // A writer that died (a process that has exited) and one still alive (this one).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let (dead, alive) = (format!(".v2.tmp-{dead}"), format!(".v3.tmp-{}", std::process::id()));
        for name in [&dead, &alive] {
            std::fs::create_dir_all(dir.path().join("A/trend").join(name)).unwrap();
            std::fs::write(dir.path().join("A/trend").join(name).join("model.json"), b"x").unwrap();
        }
        let listed = models.list().unwrap();
        assert_eq!(
            listed,
            vec![("A/trend/v1/manifest.json".to_string(), 2), ("A/trend/v1/model.json".to_string(), 1)]
        );
        assert_eq!(models.get("A/trend/v1/model.json").unwrap(), b"m");
        assert!(
            models
                .put("A/trend/v1/model.json", b"n", true)
                .unwrap_err()
                .to_string()
                .contains("exists already")
        );
        let temporaries: Vec<String> =
            models.temporaries().unwrap().into_iter().map(|(path, _)| path).collect();
        assert_eq!(temporaries, [format!("A/trend/{dead}"), format!("A/trend/{alive}")]);
        models.remove_leftovers("A", "trend");
        assert!(!dir.path().join("A/trend").join(&dead).exists(), "its writer died");
        assert!(dir.path().join("A/trend").join(&alive).exists(), "its writer is still writing");
        models.remove_dir("A/trend/v1").unwrap();
        assert!(!dir.path().join("A/trend/v1").exists());
        models.remove_dir("A/trend/v9").unwrap();
    }
}
