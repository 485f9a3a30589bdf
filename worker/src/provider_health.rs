//! Every provider's circuit breaker and metrics in one Durable Object, so all isolates share them and they
//! survive restarts; the counts of how storing answers went live beside them. Each request is one
//! synchronous read-modify-write (no `await` inside), so concurrent attempts never interleave; the object
//! keeps what it last saved in memory, reads SQLite once per provider when it starts, and writes only what
//! changed.
//!
//! The router reports after every attempt, and asks before one — except that an isolate which was told
//! "allowed" within the last [`ADMITTED_FOR_MS`] does not ask again until a failure of that provider: the
//! breaker opens for every isolate at most that long after it opened in the store.

use std::cell::RefCell;
use std::collections::HashMap;

use datasage_shared::api::StorageMetrics;
use datasage_shared::routing::{
    Admission, AttemptReport, BreakerConfig, ProviderHealth, ProviderMetricsView,
};
use serde::{Deserialize, Serialize};
use worker::{console_error, durable_object, DurableObject, Env, Method, Request, Response, Result, State};

use crate::error::Failure;
use crate::objects::{create_tables, param, Object};
use crate::util::now_ms;

/// The one instance every isolate talks to.
const INSTANCE: &str = "global";

#[durable_object(fetch)]
pub struct ProviderHealthStore {
    state: State,
    /// Each provider's health as last saved.
    saved: RefCell<HashMap<String, ProviderHealth>>,
}

#[derive(Deserialize)]
struct Row {
    data: String,
}

#[derive(Serialize, Deserialize)]
struct RecordBody {
    provider: String,
    report: AttemptReport,
    breaker: BreakerConfig,
}

impl DurableObject for ProviderHealthStore {
    fn new(state: State, _env: Env) -> Self {
        create_tables(
            &state.storage().sql(),
            "provider health",
            &[
                "CREATE TABLE IF NOT EXISTS health (provider TEXT PRIMARY KEY, data TEXT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)",
            ],
        );
        Self {
            state,
            saved: RefCell::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        let param = |key: &str| param(&url, key);
        match url.path() {
            "/admit" => {
                let provider = param("provider");
                let mut health = self.load(&provider)?;
                let admission = health.admit(now_ms());
                self.save(&provider, &health)?;
                Response::from_json(&admission)
            }
            "/record" => {
                let body: RecordBody = req.json().await?;
                let mut health = self.load(&body.provider)?;
                health.record(&body.report, now_ms(), body.breaker);
                self.save(&body.provider, &health)?;
                Response::empty()
            }
            "/metrics" => {
                let now = now_ms();
                let views = param("providers")
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| Ok(self.load(p)?.view(p, now)))
                    .collect::<Result<Vec<_>>>()?;
                Response::from_json(&views)
            }
            "/count" => {
                self.state.storage().sql().exec(
                    "INSERT INTO counters (name, n) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1",
                    vec![param("name").into()],
                )?;
                Response::empty()
            }
            "/counters" => {
                #[derive(Deserialize)]
                struct Counter {
                    name: String,
                    n: f64,
                }
                let rows: Vec<Counter> = self
                    .state
                    .storage()
                    .sql()
                    .exec("SELECT name, n FROM counters", None)?
                    .to_array()?;
                let counts = rows.iter().map(|c| (c.name.as_str(), c.n as u64));
                Response::from_json(&StorageMetrics::from_counts(counts))
            }
            _ => Response::error("not found", 404),
        }
    }
}

impl ProviderHealthStore {
    fn load(&self, provider: &str) -> Result<ProviderHealth> {
        if let Some(health) = self.saved.borrow().get(provider) {
            return Ok(health.clone());
        }
        let rows: Vec<Row> = self
            .state
            .storage()
            .sql()
            .exec(
                "SELECT data FROM health WHERE provider = ?",
                vec![provider.into()],
            )?
            .to_array()?;
        let health: ProviderHealth = rows
            .first()
            .and_then(|r| serde_json::from_str(&r.data).ok())
            .unwrap_or_default();
        self.saved
            .borrow_mut()
            .insert(provider.to_owned(), health.clone());
        Ok(health)
    }

    /// Writes `health` if it changed since it was last saved.
    fn save(&self, provider: &str, health: &ProviderHealth) -> Result<()> {
        if self.saved.borrow().get(provider) == Some(health) {
            return Ok(());
        }
        let data = serde_json::to_string(health).map_err(|e| worker::Error::RustError(e.to_string()))?;
        self.state.storage().sql().exec(
            "INSERT INTO health (provider, data) VALUES (?, ?) ON CONFLICT (provider) DO UPDATE SET data = excluded.data",
            vec![provider.into(), data.into()],
        )?;
        self.saved
            .borrow_mut()
            .insert(provider.to_owned(), health.clone());
        Ok(())
    }
}

/// The one instance, as a typed client.
fn store(env: &Env) -> crate::error::Result<Object> {
    Object::new(env, "PROVIDER_HEALTH", INSTANCE)
}

/// How long an isolate takes a provider's "allowed" for granted.
pub const ADMITTED_FOR_MS: u64 = 1_000;

thread_local! {
    /// Providers this isolate was told are allowed, and until when it need not ask again.
    static ADMITTED: RefCell<HashMap<String, u64>> = RefCell::default();
}

/// Whether a call may go to `provider` now. If the store cannot be reached the call is allowed: losing
/// the breaker must not take every provider down with it.
pub async fn admit(env: &Env, provider: &str) -> Admission {
    let now = now_ms();
    if ADMITTED.with(|a| a.borrow().get(provider).is_some_and(|&until| now < until)) {
        return Admission::Allowed;
    }
    let asked = async {
        store(env)?
            .call(Method::Post, &format!("/admit?provider={provider}"), None)
            .await
    };
    match asked.await {
        Ok(a) => {
            if a == Admission::Allowed {
                ADMITTED.with(|m| m.borrow_mut().insert(provider.to_owned(), now + ADMITTED_FOR_MS));
            }
            a
        }
        Err(e) => {
            console_error!("provider health unavailable, admitting {provider}: {e}");
            Admission::Allowed
        }
    }
}

/// Reports a finished attempt; after a failure this isolate asks again before the next call.
pub async fn record(env: &Env, provider: &str, report: AttemptReport, breaker: BreakerConfig) {
    if report.failure.is_some() {
        ADMITTED.with(|m| m.borrow_mut().remove(provider));
    }
    let body = RecordBody {
        provider: provider.to_owned(),
        report,
        breaker,
    };
    let sent = match serde_json::to_string(&body) {
        Ok(json) => async { store(env)?.tell(Method::Post, "/record", Some(json.into())).await }.await,
        Err(e) => Err(Failure::Internal(e.to_string())),
    };
    if let Err(e) = sent {
        console_error!("could not record an attempt of {provider}: {e}");
    }
}

/// Counts one outcome of storing an answer (one of `StorageMetrics::OUTCOMES`); a lost count is logged.
pub async fn count_storage(env: &Env, outcome: &str) {
    let counted = async {
        store(env)?
            .tell(Method::Post, &format!("/count?name={outcome}"), None)
            .await
    };
    if let Err(e) = counted.await {
        console_error!("could not count a storage outcome ({outcome}): {e}");
    }
}

/// How storing answers has gone.
pub async fn storage(env: &Env) -> crate::error::Result<StorageMetrics> {
    store(env)?.call(Method::Post, "/counters", None).await
}

/// Every named provider's state and metrics.
pub async fn metrics(env: &Env, providers: &[String]) -> crate::error::Result<Vec<ProviderMetricsView>> {
    store(env)?
        .call(
            Method::Post,
            &format!("/metrics?providers={}", providers.join(",")),
            None,
        )
        .await
}
