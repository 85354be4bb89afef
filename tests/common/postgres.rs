//! A fresh PostgreSQL database per test, on the server `TEST_POSTGRES_URL` names (a
//! throwaway cluster: `scripts/test-servers/postgres.sh start DIR PORT` prints its URL,
//! and `.ci/run` starts one). The PostgreSQL suites are selected by their test targets;
//! without a server they fail, never skip.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The variable that names the test server (an admin URL, database `postgres`).
pub const SERVER: &str = "TEST_POSTGRES_URL";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A database of its own, dropped with this value.
pub struct TestDatabase {
    pub url: String,
    admin: String,
    name: String,
}

/// The server's URL; panics with how to start one when it is not set.
pub fn server() -> String {
    std::env::var(SERVER).unwrap_or_else(|_| {
        panic!(
            "{SERVER} is not set: the PostgreSQL suite needs a server \
             (`scripts/test-servers/postgres.sh start /tmp/pg 55432` prints its URL; .ci/run starts one)"
        )
    })
}

fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to the test server {url}: {e}"))
}

impl TestDatabase {
    pub fn create() -> TestDatabase {
        let admin = server();
        let name = format!("test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        connect(&admin).batch_execute(&format!("CREATE DATABASE {name}")).expect("creating a test database");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        TestDatabase { url: format!("{base}/{name}"), admin, name }
    }

    /// A client of the test database, to look at what a command wrote.
    pub fn client(&self) -> postgres::Client {
        connect(&self.url)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}
