//! Copy every file of one artifact store into another, empty one: `state copy` of the
//! models, and `restore` from a backup's models folder.

use anyhow::Context;

use super::{MANIFEST_FILE, Models, sha256_hex};
use crate::error::Failure;

/// What a copy wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub files: usize,
    pub bytes: u64,
}

fn usage(message: String) -> anyhow::Error {
    Failure::Usage(message).into()
}

/// Copy every file of `from` into the empty `to`, then read each back and compare its
/// SHA-256 with the source's.
pub fn copy_all(from: &Models, to: &Models) -> anyhow::Result<Copied> {
    if from.display() == to.display() {
        return Err(usage(format!("{} is both the source and the target", from.display())));
    }
    let present = to.list()?;
    if let Some((first, _)) = present.first() {
        return Err(usage(format!(
            "{} is not empty ({} files, such as {first}): models are copied only into an empty folder or prefix",
            to.display(),
            present.len()
        )));
    }
    let mut files = from.list()?;
    // A version exists for readers once its manifest does: publish that last.
    files.sort_by(|(a, _), (b, _)| publish_order(a).cmp(&publish_order(b)));
    let mut copied: Vec<(String, u64, String)> = Vec::with_capacity(files.len());
    for (relative, _) in &files {
        let written = from.get(relative).map_err(anyhow::Error::msg).and_then(|bytes| {
            to.put(relative, &bytes, true)?;
            Ok((relative.clone(), bytes.len() as u64, sha256_hex(&bytes)))
        });
        copied.push(written.with_context(|| {
            format!(
                "copying {relative} ({} of {} files): {} holds a partial copy, empty it before copying again",
                copied.len() + 1,
                files.len(),
                to.display()
            )
        })?);
    }
    for (relative, _, sha256) in &copied {
        let back = to.get(relative).map_err(|e| anyhow::anyhow!("reading back {e}"))?;
        anyhow::ensure!(
            sha256_hex(&back) == *sha256,
            "{}: the copy's bytes differ from those of {}",
            to.locate(relative),
            from.locate(relative)
        );
    }
    let mut expected: Vec<(String, u64)> =
        copied.iter().map(|(path, bytes, _)| (path.clone(), *bytes)).collect();
    expected.sort();
    let listed = to.list()?;
    anyhow::ensure!(
        listed == expected,
        "{} lists {} files after the copy, not the {} copied: did another process write there?",
        to.display(),
        listed.len(),
        expected.len()
    );
    Ok(Copied { files: copied.len(), bytes: copied.iter().map(|(_, bytes, _)| bytes).sum() })
}

/// A folder's files by name, its manifest last.
pub fn publish_order(relative: &str) -> (&str, bool, &str) {
    let (folder, name) = relative.rsplit_once('/').unwrap_or(("", relative));
    (folder, name == MANIFEST_FILE, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_come_after_the_other_files_of_their_folder() {
        let mut files =
            vec!["A/t/v1/manifest.json", "A/t/v1/model.json", "A/t/v1/reference.json", "A/t/v2/model.json"];
        files.sort_by(|a, b| publish_order(a).cmp(&publish_order(b)));
        assert_eq!(
            files,
            ["A/t/v1/model.json", "A/t/v1/reference.json", "A/t/v1/manifest.json", "A/t/v2/model.json"]
        );
    }
}
