//! Runtime configuration from `wrangler.toml` vars and secrets. Keys are wrapped so they never reach a log.

use std::cell::OnceCell;
use std::fmt;
use std::rc::Rc;

use datasage_shared::csv::Limits;
use datasage_shared::pricing::PriceTable;
use datasage_shared::provider::Protocol;
use datasage_shared::routing::{BreakerConfig, RetryPolicy};
use worker::{console_warn, Env};

use crate::error::{Failure, Result};

/// How model calls are routed across providers (from `wrangler.toml` vars).
#[derive(Debug, Clone, Copy)]
pub struct Routing {
    pub retry: RetryPolicy,
    pub breaker: BreakerConfig,
    pub first_token_timeout_ms: u64,
    pub stall_timeout_ms: u64,
    /// The most one answer may take, start to finish, and the most text (answer and reasoning) it may
    /// send: past either the attempt ends as `too_long` and the upstream request is aborted.
    pub answer_timeout_ms: u64,
    pub max_answer_bytes: usize,
}

/// A secret string whose `Debug` is redacted.
#[derive(Clone)]
pub struct SecretString(String);

impl SecretString {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

/// One configured LLM provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub name: &'static str,
    /// The name people know it by (`OpenRouter`).
    pub label: &'static str,
    pub protocol: Protocol,
    pub base_url: String,
    pub api_key: SecretString,
    pub model: String,
}

/// A provider DataSage knows: its configuration names and defaults (the official SDKs' base URLs).
struct Known {
    name: &'static str,
    label: &'static str,
    protocol: Protocol,
    prefix: &'static str,
    base_url: &'static str,
    model: &'static str,
}

const KNOWN: &[Known] = &[
    Known {
        name: "openrouter",
        label: "OpenRouter",
        protocol: Protocol::OpenAi,
        prefix: "OPENROUTER",
        base_url: "https://openrouter.ai/api/v1",
        model: "openai/gpt-4o-mini",
    },
    Known {
        name: "anthropic",
        label: "Anthropic",
        protocol: Protocol::Anthropic,
        prefix: "ANTHROPIC",
        base_url: "https://api.anthropic.com",
        model: "claude-sonnet-4-5",
    },
    Known {
        name: "openai",
        label: "OpenAI",
        protocol: Protocol::OpenAi,
        prefix: "OPENAI",
        base_url: "https://api.openai.com/v1",
        model: "gpt-4o-mini",
    },
];

pub const BUILTIN: &str = "builtin";
const DEFAULT_ORDER: &str = "openrouter,anthropic,openai,builtin";

#[derive(Debug, Clone)]
pub struct Config {
    pub dev_auth: bool,
    pub rate_limit_per_minute: u32,
    pub builtin_chunk_delay_ms: u64,
    /// Configured providers in `PROVIDER_ORDER`, up to `builtin` (which always answers, so nothing after it
    /// is reached).
    pub providers: Vec<ProviderConfig>,
    /// Whether the built-in analyst answers when every provider failed: it is in `PROVIDER_ORDER`, or no
    /// provider has a key.
    pub builtin_fallback: bool,
    pub prices: PriceTable,
    pub routing: Routing,
    /// The most bytes of one stored answer (`MAX_STORED_ANSWER_BYTES`; D1 rows hold 2 MB).
    pub max_stored_bytes: usize,
    /// Whether `[fault:…]` markers in a question inject faults (`FAULT_INJECTION = "true"`: tests only).
    pub fault_injection: bool,
    /// Upload limits (`UPLOAD_MAX_*`), the defaults where unset.
    pub upload_limits: Limits,
    pub hub: HubSettings,
    /// Every user's monthly budget in US dollars (`MONTHLY_BUDGET_USD`; none when unset), unless an admin
    /// set one of their own.
    pub monthly_budget_usd: Option<f64>,
}

/// The live hub's settings (tests shorten the windows).
#[derive(Debug, Clone)]
pub struct HubSettings {
    /// A socket that sent no ping for this long is treated as gone (`WS_HEARTBEAT_WINDOW_MS`, 90 s).
    pub heartbeat_window_ms: u64,
    /// Origins besides the app's own that may open a socket (`ALLOWED_ORIGINS`, comma-separated).
    pub allowed_origins: Vec<String>,
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.trim().is_empty())
}

fn secret(env: &Env, name: &str) -> Option<SecretString> {
    env.secret(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.trim().is_empty())
        .map(SecretString)
}

thread_local! {
    /// The isolate's configuration: its vars and secrets are fixed for its life (a deploy or a changed
    /// secret starts new isolates), so they are read once, not on every request.
    static CONFIG: OnceCell<Rc<Config>> = const { OnceCell::new() };
}

impl Config {
    /// The configuration, read from `env` the first time an isolate asks.
    pub fn of(env: &Env) -> Rc<Config> {
        CONFIG.with(|c| Rc::clone(c.get_or_init(|| Rc::new(Self::from_env(env)))))
    }

    fn from_env(env: &Env) -> Self {
        let order = var(env, "PROVIDER_ORDER").unwrap_or_else(|| DEFAULT_ORDER.into());
        let mut providers = Vec::new();
        let mut builtin_listed = false;
        for name in order.split(',').map(|n| n.trim().to_ascii_lowercase()) {
            if name == BUILTIN {
                builtin_listed = true;
                break;
            }
            let Some(k) = KNOWN.iter().find(|k| k.name == name) else {
                console_warn!("PROVIDER_ORDER names an unknown provider `{name}`; it is skipped");
                continue;
            };
            // A provider without its key is skipped.
            if let Some(api_key) = secret(env, &format!("{}_API_KEY", k.prefix)) {
                providers.push(ProviderConfig {
                    name: k.name,
                    label: k.label,
                    protocol: k.protocol,
                    base_url: var(env, &format!("{}_BASE_URL", k.prefix))
                        .unwrap_or_else(|| k.base_url.into()),
                    api_key,
                    model: var(env, &format!("{}_MODEL", k.prefix)).unwrap_or_else(|| k.model.into()),
                });
            }
        }
        let prices = PriceTable::with_overrides(var(env, "MODEL_PRICES").as_deref()).unwrap_or_else(|e| {
            console_warn!("MODEL_PRICES is not valid JSON ({e}); using the default prices");
            PriceTable::default()
        });
        let num = |name: &str, default: u64| var(env, name).and_then(|v| v.parse().ok()).unwrap_or(default);
        let (retry, breaker) = (RetryPolicy::default(), BreakerConfig::default());
        Config {
            builtin_fallback: builtin_listed || providers.is_empty(),
            routing: Routing {
                retry: RetryPolicy {
                    max_attempts: num("RETRY_MAX_ATTEMPTS", u64::from(retry.max_attempts)).clamp(1, 10)
                        as u32,
                    base_delay_ms: num("RETRY_BASE_DELAY_MS", retry.base_delay_ms),
                    max_delay_ms: num("RETRY_MAX_DELAY_MS", retry.max_delay_ms),
                    deadline_ms: num("ROUTING_DEADLINE_MS", retry.deadline_ms),
                },
                breaker: BreakerConfig {
                    threshold: num("BREAKER_THRESHOLD", u64::from(breaker.threshold)).clamp(1, 1_000) as u32,
                    cooldown_ms: num("BREAKER_COOLDOWN_MS", breaker.cooldown_ms),
                },
                first_token_timeout_ms: num("FIRST_TOKEN_TIMEOUT_MS", 20_000),
                stall_timeout_ms: num("STALL_TIMEOUT_MS", 15_000),
                answer_timeout_ms: num("ANSWER_TIMEOUT_MS", 90_000),
                max_answer_bytes: num("MAX_ANSWER_BYTES", 64 * 1024) as usize,
            },
            dev_auth: var(env, "DEV_AUTH").is_some_and(|v| v == "true"),
            rate_limit_per_minute: var(env, "RATE_LIMIT_PER_MINUTE")
                .and_then(|v| v.parse().ok())
                .unwrap_or(20),
            builtin_chunk_delay_ms: var(env, "BUILTIN_CHUNK_DELAY_MS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(15),
            providers,
            prices,
            max_stored_bytes: num("MAX_STORED_ANSWER_BYTES", 1_000_000) as usize,
            fault_injection: var(env, "FAULT_INJECTION").is_some_and(|v| v == "true"),
            upload_limits: upload_limits(env),
            monthly_budget_usd: monthly_budget(env),
            hub: HubSettings {
                heartbeat_window_ms: num("WS_HEARTBEAT_WINDOW_MS", 90_000).max(1_000),
                allowed_origins: var(env, "ALLOWED_ORIGINS")
                    .map(|v| {
                        v.split(',')
                            .map(|o| o.trim().to_owned())
                            .filter(|o| !o.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
            },
        }
    }

    /// The value of a `[fault:key=…]` marker in `question`, where fault injection is on.
    pub fn fault<'a>(&self, question: &'a str, key: &str) -> Option<&'a str> {
        self.fault_injection
            .then(|| datasage_shared::text::fault_marker(question, key))
            .flatten()
    }

    /// The providers answering, in order of preference; `builtin` last when it is the fallback.
    pub fn provider_names(&self) -> Vec<String> {
        self.providers
            .iter()
            .map(|p| p.name.to_owned())
            .chain(self.builtin_fallback.then(|| BUILTIN.to_owned()))
            .collect()
    }
}

/// `MONTHLY_BUDGET_USD`: a number of dollars, 0 or more; anything else is ignored, loudly.
fn monthly_budget(env: &Env) -> Option<f64> {
    let raw = var(env, "MONTHLY_BUDGET_USD")?;
    let budget = raw
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|b| b.is_finite() && *b >= 0.0);
    if budget.is_none() {
        console_warn!("MONTHLY_BUDGET_USD is not a number of dollars (0 or more); no budget is set");
    }
    budget
}

/// Upload limits from `wrangler.toml` vars, falling back to the defaults.
fn upload_limits(env: &Env) -> Limits {
    let d = Limits::default();
    let num = |name: &str| var(env, name).and_then(|v| v.parse::<u64>().ok());
    Limits {
        max_bytes: num("UPLOAD_MAX_BYTES").unwrap_or(d.max_bytes),
        max_rows: num("UPLOAD_MAX_ROWS").map_or(d.max_rows, |v| v as usize),
        max_columns: num("UPLOAD_MAX_COLUMNS").map_or(d.max_columns, |v| v as usize),
        max_field_bytes: num("UPLOAD_MAX_FIELD_BYTES").map_or(d.max_field_bytes, |v| v as usize),
    }
}

/// The JWT signing secret; without it no token can be checked, which is a server misconfiguration.
pub fn jwt_secret(env: &Env) -> Result<SecretString> {
    secret(env, "JWT_SECRET").ok_or_else(|| Failure::Internal("JWT_SECRET is not set".into()))
}
