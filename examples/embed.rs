//! Embedding trailsift as a library: open raw evidence (or a store) with the query engine, run
//! SQL, and read the answer as Arrow record batches; then name the evidence that could not be
//! read, as the CLI does.
//!
//! ```text
//! cargo run --example embed -- fixtures/demo
//! ```

#![allow(clippy::print_stdout)] // an example program: its output is the point

use trailsift_query::{Engine, EngineOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args().nth(1).unwrap_or_else(|| "fixtures/demo".to_string());
    let engine = Engine::open(&[root.into()], EngineOptions::default()).await?;
    let df = engine
        .sql(
            "SELECT useridentity.accesskeyid AS key, access_key_type(useridentity.accesskeyid) AS kind, \
                    count(*) AS events, min(event_ts) AS first_seen \
             FROM cloudtrail WHERE useridentity.accesskeyid IS NOT NULL \
             GROUP BY 1, 2 ORDER BY events DESC LIMIT 10",
        )
        .await?;
    let batches = df.collect().await?;
    println!("{}", arrow::util::pretty::pretty_format_batches(&batches)?);
    for p in engine.problems() {
        eprintln!("could not read {}: {:?}", p.path, p.error);
    }
    let st = engine.scan_stats();
    eprintln!("{} of {} files read, {} records parsed", st.files_read, st.files_considered, st.records_seen);
    Ok(())
}
