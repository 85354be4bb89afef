//! A fresh bucket per test on the S3-compatible server `TEST_S3_ENDPOINT` names (a
//! throwaway `moto` server: `scripts/test-servers/s3.sh start DIR PORT` prints its
//! endpoint, and `.ci/run` starts one). The suites that use it are selected by their test
//! targets; without a server they fail, never skip.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The variable that names the test server (`http://127.0.0.1:PORT`).
pub const SERVER: &str = "TEST_S3_ENDPOINT";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A bucket of its own; the server is thrown away after the run, and the bucket with it.
pub struct TestBucket {
    pub endpoint: String,
    pub name: String,
}

/// The server's endpoint; panics with how to start one when it is not set.
pub fn server() -> String {
    std::env::var(SERVER).unwrap_or_else(|_| {
        panic!(
            "{SERVER} is not set: the object-store suite needs an S3-compatible server \
             (`scripts/test-servers/s3.sh start /tmp/s3 59000` prints its endpoint; .ci/run starts one)"
        )
    })
}

impl TestBucket {
    pub fn create() -> TestBucket {
        let endpoint = server();
        let name = format!("test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        // moto creates a bucket on an unsigned PUT, as its own tests do.
        let status = ureq::put(&format!("{endpoint}/{name}"))
            .send_empty()
            .unwrap_or_else(|e| panic!("creating the bucket {name} on {endpoint}: {e}"))
            .status();
        assert!(status.is_success(), "creating the bucket {name} on {endpoint}: {status}");
        TestBucket { endpoint, name }
    }

    /// The models' URL under `prefix`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.name)
    }

    /// What a process needs to reach the server: the environment `object_store` reads.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The models under `prefix`, opened in the test's own process with the same settings
    /// as the builder's options.
    pub fn models(&self, prefix: &str) -> retrain::artifact::Models {
        let options: Vec<(String, String)> =
            self.env().into_iter().map(|(key, value)| (key.to_ascii_lowercase(), value)).collect();
        let options: Vec<(&str, &str)> = options.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        retrain::artifact::Models::open_with(&self.url(prefix), std::path::Path::new("."), &options)
            .expect("the test bucket's URL")
    }
}
