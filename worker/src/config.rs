//! Runtime configuration from `wrangler.toml` vars and secrets. Keys are wrapped so they never reach a log.

use std::fmt;

use worker::Env;

use crate::error::{Failure, Result};

/// A secret string whose `Debug` and `Display` are redacted.
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

/// An OpenAI-compatible endpoint (OpenAI itself, or any server speaking its protocol).
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    pub base_url: String,
    pub api_key: SecretString,
    pub model: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub dev_auth: bool,
    pub rate_limit_per_minute: u32,
    pub builtin_chunk_delay_ms: u64,
    pub openai: Option<OpenAiConfig>,
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

impl Config {
    pub fn from_env(env: &Env) -> Self {
        let openai = secret(env, "OPENAI_API_KEY").map(|api_key| OpenAiConfig {
            base_url: var(env, "OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into()),
            api_key,
            model: var(env, "OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
        });
        Config {
            dev_auth: var(env, "DEV_AUTH").is_some_and(|v| v == "true"),
            rate_limit_per_minute: var(env, "RATE_LIMIT_PER_MINUTE")
                .and_then(|v| v.parse().ok())
                .unwrap_or(20),
            builtin_chunk_delay_ms: var(env, "BUILTIN_CHUNK_DELAY_MS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(15),
            openai,
        }
    }

    /// The providers answering, in order of preference; `builtin` always last.
    pub fn provider_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.openai.is_some() {
            names.push("openai".to_owned());
        }
        names.push("builtin".to_owned());
        names
    }
}

/// The JWT signing secret; without it no token can be checked, which is a server misconfiguration.
pub fn jwt_secret(env: &Env) -> Result<SecretString> {
    secret(env, "JWT_SECRET").ok_or_else(|| Failure::Internal("JWT_SECRET is not set".into()))
}
