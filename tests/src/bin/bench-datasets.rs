//! Dataset benchmark, run on demand (`make bench`): prints figures, asserts nothing.
//!
//! - reading and profiling 100,000 rows natively (the code the worker runs, without the platform);
//! - uploading the same 100,000 rows through a real `wrangler dev` into the dataset's own Durable Object:
//!   rows/s and MB/s;
//! - answering questions over them with the built-in analyst: end-to-end latency and the SQL's own time
//!   in the dataset's object (from the execution tree), p50 and p95.
//!
//! The worker must be built first (`make worker`).

use std::time::{Duration, Instant};

use datasage_shared::api::ChatAnswer;
use datasage_shared::csv::{CsvReader, Limits};
use datasage_shared::profile::Profiler;
use datasage_shared::tree::TreeNode;
use datasage_tests::client::{fresh_user, token_for, Api};
use datasage_tests::percentile;
use datasage_tests::wrangler::{WorkerInstance, TEST_JWT_SECRET};

const ROWS: usize = 100_000;
const RUNS_PER_QUESTION: usize = 15;
const QUESTIONS: &[&str] = &[
    "How many rows are there?",
    "What are the top 5 products by revenue?",
    "revenue by month",
    "average quantity by region",
];

/// A sales table like the bundled sample, generated deterministically.
fn sales_csv(rows: usize) -> Vec<u8> {
    const REGIONS: [&str; 5] = ["North", "South", "East", "West", "Central"];
    const PRODUCTS: [(&str, f64); 8] = [
        ("Desk", 420.0),
        ("Chair", 89.5),
        ("Lamp", 34.9),
        ("Laptop", 1290.0),
        ("Monitor", 219.0),
        ("Green Tea", 9.2),
        ("Coffee Beans", 14.5),
        ("Stapler", 12.0),
    ];
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut out = String::from("order_id,order_date,region,product,quantity,unit_price,revenue,returned\n");
    for i in 0..rows {
        let (product, price) = PRODUCTS[(next() % PRODUCTS.len() as u64) as usize];
        let qty = 1 + next() % 12;
        let day = next() % 540;
        let (year, doy) = (2024 + day / 360, day % 360);
        out.push_str(&format!(
            "SO-{i},{year}-{:02}-{:02},{},{product},{qty},{price:.2},{:.2},{}\n",
            doy / 30 + 1,
            doy % 30 + 1,
            REGIONS[(next() % 5) as usize],
            price * qty as f64,
            next() % 20 == 0
        ));
    }
    out.into_bytes()
}

fn query_ms(node: &TreeNode) -> Option<u64> {
    if node.query.is_some() {
        return node.duration_ms;
    }
    node.children.iter().find_map(query_ms)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let csv = sales_csv(ROWS);
    let mb = csv.len() as f64 / 1e6;
    println!("dataset: {ROWS} rows, {mb:.1} MB");

    let started = Instant::now();
    let mut reader = CsvReader::new(Limits::default());
    let mut records = Vec::new();
    for chunk in csv.chunks(64 * 1024) {
        records.extend(reader.push(chunk)?);
    }
    records.extend(reader.finish()?);
    let mut profiler = Profiler::new(reader.header().unwrap_or_default());
    records.iter().for_each(|r| profiler.observe(r));
    let profile = profiler.finish();
    let native = started.elapsed();
    println!(
        "read + profile natively:   {:>8.0} ms  ({:.0} rows/s, {} columns)",
        native.as_secs_f64() * 1e3,
        ROWS as f64 / native.as_secs_f64(),
        profile.columns.len()
    );

    let worker = WorkerInstance::start(
        "bench-datasets",
        &[
            ("JWT_SECRET", TEST_JWT_SECRET),
            ("DEV_AUTH", "false"),
            ("RATE_LIMIT_PER_MINUTE", "100000"),
            ("BUILTIN_CHUNK_DELAY_MS", "0"),
            ("OPENROUTER_API_KEY", ""),
            ("ANTHROPIC_API_KEY", ""),
            ("OPENAI_API_KEY", ""),
        ],
    )?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let api = Api::new(&worker.base_url);
        let user = fresh_user("bench");
        let token = token_for(&user);
        let started = Instant::now();
        let (status, detail) = api.upload(&token, "bench sales", csv.clone()).await;
        let upload = started.elapsed();
        if status != 201 {
            return Err(format!("upload failed: {status} {detail}").into());
        }
        println!(
            "upload through wrangler:   {:>8.0} ms  ({:.0} rows/s, {:.2} MB/s) — parse, profile, object SQLite, typed table",
            upload.as_secs_f64() * 1e3,
            ROWS as f64 / upload.as_secs_f64(),
            mb / upload.as_secs_f64()
        );
        let id = detail["id"].as_str().unwrap_or_default().to_owned();
        println!("\nquestion latency over {ROWS} rows (built-in analyst, {RUNS_PER_QUESTION} runs each):");
        println!("{:<42} {:>9} {:>9} {:>11} {:>11}", "question", "p50 ms", "p95 ms", "SQL p50 ms", "SQL p95 ms");
        for question in QUESTIONS {
            let mut total = Vec::new();
            let mut sql = Vec::new();
            for run in 0..RUNS_PER_QUESTION {
                let body = serde_json::json!({
                    "message": question, "session_id": format!("{user}-{run}"), "dataset_id": id,
                });
                let started = Instant::now();
                let (status, _, answer) = api.post("/api/v1/chat", Some(&token), &body).await;
                total.push(started.elapsed().as_secs_f64() * 1e3);
                if status != 200 {
                    return Err(format!("{question}: {status} {answer}").into());
                }
                let answer: ChatAnswer = serde_json::from_value(answer)?;
                if let Some(ms) = query_ms(&answer.metadata.execution_tree.root) {
                    sql.push(ms as f64);
                }
            }
            total.sort_by(f64::total_cmp);
            sql.sort_by(f64::total_cmp);
            println!(
                "{question:<42} {:>9.0} {:>9.0} {:>11.0} {:>11.0}",
                percentile(&total, 0.5),
                percentile(&total, 0.95),
                percentile(&sql, 0.5),
                percentile(&sql, 0.95)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}
