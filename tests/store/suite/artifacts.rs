//! The artifact store: a version is published manifest last, never replaced in an object
//! store, read back byte for byte, and every failure names the file.

use crate::fresh;

const MODEL: &[u8] = b"{\"trees\": []}";
const MANIFEST: &[u8] = b"{\"files\": {}}";

#[test]
fn a_published_version_reads_back_and_lists_its_files_in_order() {
    let models = fresh().models;
    models.prepare().unwrap();
    assert_eq!(models.list().unwrap(), []);
    models
        .publish(
            "BTC/trending/v1",
            &[("model.json", MODEL), ("reference.json", b"[]")],
            ("manifest.json", MANIFEST),
        )
        .unwrap();
    models.publish("BTC/sideways/v1", &[("model.json", b"{}")], ("manifest.json", MANIFEST)).unwrap();
    let listed = models.list().unwrap();
    let names: Vec<&str> = listed.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        names,
        [
            "BTC/sideways/v1/manifest.json",
            "BTC/sideways/v1/model.json",
            "BTC/trending/v1/manifest.json",
            "BTC/trending/v1/model.json",
            "BTC/trending/v1/reference.json",
        ]
    );
    assert_eq!(listed[3].1, MODEL.len() as u64);
    assert_eq!(models.get("BTC/trending/v1/model.json").unwrap(), MODEL);
}

#[test]
fn a_missing_file_is_named_in_full() {
    let models = fresh().models;
    models.prepare().unwrap();
    let error = models.get("BTC/trending/v9/model.json").unwrap_err();
    assert!(error.starts_with(&models.locate("BTC/trending/v9/model.json")), "{error}");
}

#[test]
fn a_create_only_put_leaves_an_existing_file_as_it_was() {
    let models = fresh().models;
    models.prepare().unwrap();
    models.put("BTC/trending/v1/manifest.json", MANIFEST, true).unwrap();
    let refused = models.put("BTC/trending/v1/manifest.json", b"other", true).unwrap_err();
    assert!(refused.to_string().contains("exists already"), "{refused:#}");
    assert_eq!(models.get("BTC/trending/v1/manifest.json").unwrap(), MANIFEST);
    models.put("BTC/trending/v1/manifest.json", b"other", false).unwrap();
    assert_eq!(models.get("BTC/trending/v1/manifest.json").unwrap(), b"other");
}

#[test]
fn an_object_store_never_replaces_a_published_manifest() {
    let models = fresh().models;
    models.prepare().unwrap();
    models.publish("BTC/trending/v1", &[("model.json", MODEL)], ("manifest.json", MANIFEST)).unwrap();
    let again = models.publish("BTC/trending/v1", &[("model.json", b"{}")], ("manifest.json", b"{}"));
    if models.is_remote() {
        // Two states writing to one prefix: the second writer's manifest is refused.
        let error = format!("{:#}", again.unwrap_err());
        assert!(error.contains("exists already") && error.contains("another state"), "{error}");
        assert_eq!(models.get("BTC/trending/v1/manifest.json").unwrap(), MANIFEST);
    } else {
        // A folder at the final name is a crash's leftover (its number is never handed out
        // again): replaced whole, by a rename.
        again.unwrap();
        assert_eq!(models.get("BTC/trending/v1/manifest.json").unwrap(), b"{}");
    }
}
