//! Every provider's circuit breaker and metrics in one Durable Object, so all isolates share them and they
//! survive restarts. Each request is one synchronous SQLite read-modify-write (no `await` inside), so
//! concurrent attempts never interleave. The router pays one round trip to ask before an attempt and one to
//! report after it — never one per token.

use datasage_shared::routing::{
    Admission, AttemptReport, BreakerConfig, ProviderHealth, ProviderMetricsView,
};
use serde::{Deserialize, Serialize};
use worker::{
    console_error, durable_object, DurableObject, Env, Method, Request, RequestInit, Response, Result, State,
};

use crate::util::now_ms;

/// The one instance every isolate talks to.
const INSTANCE: &str = "global";

#[durable_object(fetch)]
pub struct ProviderHealthStore {
    state: State,
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
        let created = state.storage().sql().exec(
            "CREATE TABLE IF NOT EXISTS health (provider TEXT PRIMARY KEY, data TEXT NOT NULL)",
            None,
        );
        if let Err(e) = created {
            console_error!("provider health: cannot create its table: {e}");
        }
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let url = req.url()?;
        let param = |key: &str| {
            url.query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
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
            _ => Response::error("not found", 404),
        }
    }
}

impl ProviderHealthStore {
    fn load(&self, provider: &str) -> Result<ProviderHealth> {
        let rows: Vec<Row> = self
            .state
            .storage()
            .sql()
            .exec(
                "SELECT data FROM health WHERE provider = ?",
                vec![provider.into()],
            )?
            .to_array()?;
        Ok(rows
            .first()
            .and_then(|r| serde_json::from_str(&r.data).ok())
            .unwrap_or_default())
    }

    fn save(&self, provider: &str, health: &ProviderHealth) -> Result<()> {
        let data = serde_json::to_string(health).map_err(|e| worker::Error::RustError(e.to_string()))?;
        self.state.storage().sql().exec(
            "INSERT INTO health (provider, data) VALUES (?, ?) ON CONFLICT (provider) DO UPDATE SET data = excluded.data",
            vec![provider.into(), data.into()],
        )?;
        Ok(())
    }
}

async fn call(env: &Env, path: &str, body: Option<String>) -> Result<Response> {
    let stub = env.durable_object("PROVIDER_HEALTH")?.get_by_name(INSTANCE)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    if let Some(b) = body {
        init.with_body(Some(b.into()));
    }
    stub.fetch_with_request(Request::new_with_init(
        &format!("https://provider-health{path}"),
        &init,
    )?)
    .await
}

/// Whether a call may go to `provider` now. If the store cannot be reached the call is allowed: losing
/// the breaker must not take every provider down with it.
pub async fn admit(env: &Env, provider: &str) -> Admission {
    let asked = async {
        call(env, &format!("/admit?provider={provider}"), None)
            .await?
            .json()
            .await
    };
    match asked.await {
        Ok(a) => a,
        Err(e) => {
            console_error!("provider health unavailable, admitting {provider}: {e}");
            Admission::Allowed
        }
    }
}

/// Reports a finished attempt.
pub async fn record(env: &Env, provider: &str, report: AttemptReport, breaker: BreakerConfig) {
    let body = RecordBody {
        provider: provider.to_owned(),
        report,
        breaker,
    };
    let sent = match serde_json::to_string(&body) {
        Ok(json) => call(env, "/record", Some(json)).await.map(|_| ()),
        Err(e) => Err(worker::Error::RustError(e.to_string())),
    };
    if let Err(e) = sent {
        console_error!("could not record an attempt of {provider}: {e}");
    }
}

/// Every named provider's state and metrics.
pub async fn metrics(env: &Env, providers: &[String]) -> Result<Vec<ProviderMetricsView>> {
    call(env, &format!("/metrics?providers={}", providers.join(",")), None)
        .await?
        .json()
        .await
}
