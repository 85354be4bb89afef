//! The floor SQLite sets for `collect`: parse a candle CSV (the BTC file's format, header
//! `timestamp,open,high,low,close,volume` with text times) and insert every row into a
//! table shaped like retrain's `candles`, with the same pragmas (WAL, synchronous FULL),
//! in one transaction through one prepared statement. No validation, no upsert, no
//! batch log: what is left when everything `collect` adds is taken away.
//!
//!     cargo run --release --example bare_insert -- FILE.csv DB
//!
//! Prints `rows <n> ms <elapsed> rows_per_s <rate>`; scripts/bench/run.sh compares it
//! with `retrain collect` of the same file.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, csv_path, db_path] = args.as_slice() else {
        eprintln!("usage: bare_insert FILE.csv DB");
        std::process::exit(2);
    };
    match insert(csv_path, db_path) {
        Ok((rows, elapsed)) => {
            println!("rows {rows} ms {:.1} rows_per_s {:.0}", elapsed * 1e3, rows as f64 / elapsed)
        }
        Err(e) => {
            eprintln!("bare_insert: {e}");
            std::process::exit(1);
        }
    }
}

fn insert(csv_path: &str, db_path: &str) -> Result<(usize, f64), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut conn = rusqlite::Connection::open(db_path)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS candles (
             symbol TEXT NOT NULL, interval TEXT NOT NULL, open_time INTEGER NOT NULL,
             open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL,
             volume REAL NOT NULL, PRIMARY KEY (symbol, interval, open_time)
         ) WITHOUT ROWID",
    )?;
    let mut reader = csv::Reader::from_path(csv_path)?;
    let tx = conn.transaction()?;
    let mut rows = 0;
    {
        let mut statement = tx.prepare(
            "INSERT INTO candles (symbol, interval, open_time, open, high, low, close, volume)
             VALUES ('BTC', '1m', ?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for record in reader.records() {
            let record = record?;
            let time = chrono::NaiveDateTime::parse_from_str(&record[0], "%Y-%m-%d %H:%M:%S%.f")?;
            let value = |i: usize| record[i].parse::<f64>();
            statement.execute(rusqlite::params![
                time.and_utc().timestamp_millis(),
                value(1)?,
                value(2)?,
                value(3)?,
                value(4)?,
                value(5)?
            ])?;
            rows += 1;
        }
    }
    tx.commit()?;
    Ok((rows, start.elapsed().as_secs_f64()))
}
