//! A call log by the thousand: generated calls (several providers and models, a model name a CSV must
//! quote, unpriced and failed calls, fallbacks, ties in time) and the writing of them into a local D1 file
//! before the runtime opens it — for the usage export test and the usage benchmark.

use std::path::Path;

/// One logged call, as the worker writes it into `llm_calls`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedCall {
    pub id: String,
    pub created_at: String,
    pub user_id: String,
    pub session_id: String,
    pub provider: String,
    pub model: String,
    pub status: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: Option<f64>,
    pub latency_ms: u64,
    pub fallback: bool,
    pub unpriced: bool,
}

/// Provider, model, input price per million tokens (output costs 4×) and whether the model is unpriced
/// (then counted at the ceiling, as the worker counts it).
const MODELS: &[(&str, &str, f64, bool)] = &[
    ("openai", "gpt-4o-mini", 0.15, false),
    ("anthropic", "claude-sonnet-4-5", 3.0, false),
    ("openrouter", "meta-llama/llama-3.1-8b, \"instruct\"", 15.0, true),
];

/// `n` calls of `user` spread over `days` days from `first_day` (`YYYY-MM-DD`, days 1–28 of its month),
/// two calls to each answer sharing their time as an answer's calls do. Deterministic.
pub fn generate(user: &str, n: usize, first_day: &str, days: u32) -> Vec<LoggedCall> {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ n as u64;
    let mut next = move |m: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % m
    };
    let (month, first) = first_day.split_at(8);
    let first: u32 = first.parse().unwrap_or(1);
    (0..n)
        .map(|i| {
            let (provider, model, price, unpriced) = MODELS[next(MODELS.len() as u64) as usize];
            let (prompt_tokens, completion_tokens) = (200 + next(4000), next(600));
            let day = first + (i as u32 / 2) % days;
            let ms = (i / 2) % 86_400_000;
            LoggedCall {
                id: format!("call-{user}-{i:06}"),
                created_at: format!(
                    "{month}{day:02}T{:02}:{:02}:{:02}.{:03}Z",
                    ms / 3_600_000 % 24,
                    ms / 60_000 % 60,
                    ms / 1000 % 60,
                    ms % 1000
                ),
                user_id: user.to_owned(),
                session_id: format!("s-{user}-{}", i / 10),
                provider: provider.to_owned(),
                model: model.to_owned(),
                status: if next(20) == 0 { "error" } else { "ok" }.to_owned(),
                prompt_tokens,
                completion_tokens,
                cost_usd: Some((prompt_tokens as f64 * price + completion_tokens as f64 * price * 4.0) / 1e6),
                latency_ms: 100 + next(5000),
                fallback: next(10) == 0,
                unpriced,
            }
        })
        .collect()
}

/// Writes `calls` into the D1 database file at `d1`, in one transaction.
pub fn seed(d1: &Path, calls: &[LoggedCall]) -> rusqlite::Result<()> {
    let mut conn = rusqlite::Connection::open(d1)?;
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO llm_calls (id, created_at, user_id, session_id, provider, model, call_type, status, \
             prompt_tokens, completion_tokens, total_tokens, latency_ms, cost_usd, fallback, unpriced) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'answer', ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        for c in calls {
            insert.execute(rusqlite::params![
                c.id,
                c.created_at,
                c.user_id,
                c.session_id,
                c.provider,
                c.model,
                c.status,
                c.prompt_tokens as i64,
                c.completion_tokens as i64,
                (c.prompt_tokens + c.completion_tokens) as i64,
                c.latency_ms as i64,
                c.cost_usd,
                c.fallback,
                c.unpriced,
            ])?;
        }
    }
    tx.commit()
}
