//! D1 access: sessions, messages and the LLM call log. Every write of one answer goes in one batch, so a
//! failure stores nothing rather than half of it; `routes::chat` retries and degrades a failed one.

use datasage_shared::api::{
    DatasetRef, LlmCallRecord, SessionSummary, StoredAnswer, StoredMessage, Usage, SHORTENED_MARKER,
};
use datasage_shared::llm::{CallType, UsageSource};
use datasage_shared::prompt::Turn;
use datasage_shared::text::{excerpt, prefix_within};
use datasage_shared::tree::CallStatus;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::datasets::SHARED_OWNER;
use crate::error::{Failure, Result};
use crate::util::{now_iso, random_uuid};

/// Longest excerpt of a prompt or response kept in the log, in characters.
pub const EXCERPT_CHARS: usize = 1000;

/// One LLM (or built-in analyst) call to log.
#[derive(Debug, Clone)]
pub struct CallLog {
    pub provider: String,
    pub model: String,
    pub call_type: CallType,
    pub status: CallStatus,
    pub prompt: String,
    pub response: String,
    pub usage: Usage,
    pub usage_source: UsageSource,
    pub cost_usd: Option<f64>,
    /// The model had no price: `cost_usd` is at the most expensive known price.
    pub unpriced: bool,
    pub latency_ms: u64,
    /// Made because an earlier provider of the same call gave up: a fallback, counted in usage reports.
    pub fallback: bool,
    pub metadata: serde_json::Value,
}

impl CallLog {
    /// The row of an answer that died with the worker: no provider call is known, only the failure.
    pub fn worker_failure(error: &str) -> Self {
        Self {
            provider: "datasage".into(),
            model: "worker".into(),
            call_type: CallType::Answer,
            status: CallStatus::Error,
            prompt: String::new(),
            response: String::new(),
            usage: Usage::new(0, 0),
            usage_source: UsageSource::Estimated,
            cost_usd: None,
            unpriced: false,
            latency_ms: 0,
            fallback: false,
            metadata: serde_json::json!({ "error": error, "failure_class": "internal" }),
        }
    }
}

/// What an answer stores besides its question.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The final answer's text and the rest of it.
    Answered(String, Box<StoredAnswer>),
    /// The text shown before a stop.
    Stopped(String),
}

/// The metadata of a stopped answer's row (an answered one holds its `StoredAnswer`).
const STOPPED_METADATA: &str = r#"{"stopped":true}"#;

/// Everything one answer stores.
#[derive(Debug, Clone)]
pub struct AnswerLog {
    pub user_id: String,
    pub session_id: String,
    pub question: String,
    /// The dataset the question was about, and its version.
    pub dataset: DatasetRef,
    /// What the question got; `None` when it failed, or was stopped before any text.
    pub answer: Option<Reply>,
    pub calls: Vec<CallLog>,
    /// The question replaces the session's exchanges from this one on (see `ChatRequest::rewind_to`).
    pub rewind_to: Option<u32>,
}

/// The rowid of the session's `?2`-th question (0-based); NULL when it has fewer.
const NTH_QUESTION: &str = "(SELECT rowid FROM chat_messages WHERE session_id = ?1 AND role = 'user' \
                            ORDER BY created_at, rowid LIMIT 1 OFFSET ?2)";

/// A statement with its arguments bound.
pub fn stmt(db: &D1Database, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement> {
    db.prepare(sql).bind(args).map_err(Failure::from)
}

fn js_u64(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// Creates the session for `user_id` if it is new and the dataset `dataset_id` is one they may read (see
/// `datasets::lookup`), so a question refused for its dataset leaves no session behind; [`owner`] then says
/// whose the session is. Statements for one batch with the question's other lookups.
pub fn claim_session(
    db: &D1Database,
    session_id: &str,
    user_id: &str,
    title: &str,
    dataset_id: &str,
) -> Result<D1PreparedStatement> {
    stmt(
        db,
        "INSERT INTO sessions (id, user_id, title, created_at, updated_at) SELECT ?1, ?2, ?3, ?4, ?4 \
         WHERE EXISTS (SELECT 1 FROM datasets WHERE id = ?5 AND (user_id = ?2 OR user_id = ?6)) \
         ON CONFLICT (id) DO NOTHING",
        &[
            session_id.into(),
            user_id.into(),
            excerpt(title, 80).into(),
            now_iso().into(),
            dataset_id.into(),
            SHARED_OWNER.into(),
        ],
    )
}

/// Who owns the session, after [`claim_session`].
pub fn owner(db: &D1Database, session_id: &str) -> Result<D1PreparedStatement> {
    stmt(
        db,
        "SELECT user_id FROM sessions WHERE id = ?1",
        &[session_id.into()],
    )
}

/// Whether `owner`'s rows name `user_id`.
pub fn owned_by(owner: D1Result, user_id: &str) -> Result<bool> {
    #[derive(Deserialize)]
    struct Owner {
        user_id: String,
    }
    let rows: Vec<Owner> = owner.results()?;
    Ok(rows.first().is_some_and(|o| o.user_id == user_id))
}

/// How much of an answer a storing attempt writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Everything.
    Whole,
    /// A reduced copy of the answer within [`DEGRADED_ANSWER_BYTES`] (see `StoredAnswer::reduced`).
    Shortened,
    /// The question and the call log only; an exchange being replaced stays as it was.
    NoAnswer,
}

/// What is kept of an answer when whole storing failed twice: small enough for any row.
pub const DEGRADED_ANSWER_BYTES: usize = 8 * 1024;

/// Stores one answer in one batch shaped by `shape` (a failure stores nothing of that batch). `fault`
/// adds a statement D1 refuses (fault injection, for tests).
pub async fn store_answer(db: &D1Database, log: &AnswerLog, shape: Shape, fault: bool) -> Result<()> {
    let now = now_iso();
    let answer = reply_row(log.answer.as_ref(), shape)?;
    let mut batch = Vec::new();
    if let (Some(keep), Some(_)) = (log.rewind_to, &answer) {
        // In the same batch as the new exchange: the old answers go only when the new one is stored.
        batch.push(stmt(
            db,
            &format!("DELETE FROM chat_messages WHERE session_id = ?1 AND rowid >= {NTH_QUESTION}"),
            &[log.session_id.as_str().into(), keep.into()],
        )?);
    }
    batch.push(message_stmt(db, log, "user", &log.question, None, &now)?);
    if let Some((text, meta)) = answer {
        batch.push(message_stmt(db, log, "assistant", &text, Some(meta), &now)?);
    }
    for call in &log.calls {
        batch.push(call_stmt(db, log, call, &now)?);
    }
    batch.push(stmt(
        db,
        "UPDATE sessions SET updated_at = ?1, dataset_id = ?2 WHERE id = ?3",
        &[
            now.as_str().into(),
            log.dataset.id.as_str().into(),
            log.session_id.as_str().into(),
        ],
    )?);
    if fault {
        batch.push(stmt(
            db,
            "INSERT INTO chat_messages (id, session_id, user_id, role, content, created_at) \
             VALUES ('injected-fault', '', '', 'neither', '', '')",
            &[],
        )?);
    }
    for result in db.batch(batch).await? {
        if let Some(e) = result.error() {
            return Err(Failure::Internal(format!("storing the answer failed: {e}")));
        }
    }
    Ok(())
}

/// The reply's row — its text and metadata — as `shape` stores it; `None` stores the question alone.
fn reply_row(reply: Option<&Reply>, shape: Shape) -> Result<Option<(String, String)>> {
    let json =
        |stored: &StoredAnswer| serde_json::to_string(stored).map_err(|e| Failure::Internal(e.to_string()));
    Ok(match (reply, shape) {
        (_, Shape::NoAnswer) | (None, _) => None,
        (Some(Reply::Answered(text, stored)), Shape::Whole) => Some((text.clone(), json(stored)?)),
        (Some(Reply::Answered(text, stored)), Shape::Shortened) => {
            let (text, kept) = stored.reduced(text, DEGRADED_ANSWER_BYTES);
            Some((text, json(&kept)?))
        }
        (Some(Reply::Stopped(text)), Shape::Whole) => Some((text.clone(), STOPPED_METADATA.to_owned())),
        (Some(Reply::Stopped(text)), Shape::Shortened) => Some((
            format!("{}{SHORTENED_MARKER}", prefix_within(text, DEGRADED_ANSWER_BYTES)),
            STOPPED_METADATA.to_owned(),
        )),
    })
}

fn message_stmt(
    db: &D1Database,
    log: &AnswerLog,
    role: &str,
    content: &str,
    metadata: Option<String>,
    now: &str,
) -> Result<D1PreparedStatement> {
    stmt(
        db,
        "INSERT INTO chat_messages (id, session_id, user_id, role, content, metadata, created_at, dataset_id, \
         dataset_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &[
            random_uuid()?.into(),
            log.session_id.as_str().into(),
            log.user_id.as_str().into(),
            role.into(),
            content.into(),
            metadata.unwrap_or_else(|| "{}".into()).into(),
            now.into(),
            log.dataset.id.as_str().into(),
            log.dataset.version.as_str().into(),
        ],
    )
}

fn call_stmt(db: &D1Database, log: &AnswerLog, call: &CallLog, now: &str) -> Result<D1PreparedStatement> {
    stmt(
        db,
        "INSERT INTO llm_calls (id, created_at, user_id, session_id, provider, model, call_type, status, \
         prompt_excerpt, response_excerpt, prompt_tokens, completion_tokens, total_tokens, latency_ms, metadata, \
         usage_source, cost_usd, fallback, unpriced) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
        &[
            random_uuid()?.into(),
            now.into(),
            log.user_id.as_str().into(),
            log.session_id.as_str().into(),
            call.provider.as_str().into(),
            call.model.as_str().into(),
            call.call_type.as_str().into(),
            call.status.as_str().into(),
            excerpt(&call.prompt, EXCERPT_CHARS).into(),
            excerpt(&call.response, EXCERPT_CHARS).into(),
            js_u64(call.usage.prompt_tokens),
            js_u64(call.usage.completion_tokens),
            js_u64(call.usage.total_tokens),
            js_u64(call.latency_ms),
            bounded_metadata(&call.metadata).into(),
            call.usage_source.as_str().into(),
            call.cost_usd.map_or(JsValue::NULL, JsValue::from_f64),
            JsValue::from_f64(f64::from(u8::from(call.fallback))),
            JsValue::from_f64(f64::from(u8::from(call.unpriced))),
        ],
    )
}

/// Longest call metadata stored; its fields are short by construction, so this only catches a mistake.
const MAX_CALL_METADATA_BYTES: usize = 8 * 1024;

fn bounded_metadata(metadata: &serde_json::Value) -> String {
    let text = metadata.to_string();
    if text.len() <= MAX_CALL_METADATA_BYTES {
        return text;
    }
    serde_json::json!({ "truncated": true, "error": metadata["error"].as_str().map(|e| excerpt(e, 300)) })
        .to_string()
}

/// The session's last `max_turns` complete exchanges, for the prompt's history; with `before`, only those
/// before its `before`-th question. Read with [`turns`].
pub fn recent_turns(
    db: &D1Database,
    session_id: &str,
    max_turns: usize,
    before: Option<u32>,
) -> Result<D1PreparedStatement> {
    stmt(
        db,
        &format!(
            "SELECT role, content FROM chat_messages WHERE session_id = ?1 \
             AND rowid < COALESCE({NTH_QUESTION}, 9007199254740991) ORDER BY created_at DESC, rowid DESC LIMIT ?3"
        ),
        &[
            session_id.into(),
            // No rewind: an offset no session reaches, so every exchange counts.
            JsValue::from_f64(before.map_or(f64::from(u32::MAX), f64::from)),
            JsValue::from_f64((max_turns * 2) as f64),
        ],
    )
}

/// [`recent_turns`]' rows as exchanges, oldest first.
pub fn turns(rows: D1Result) -> Result<Vec<Turn>> {
    #[derive(Deserialize)]
    struct Row {
        role: String,
        content: String,
    }
    let mut rows: Vec<Row> = rows.results()?;
    rows.reverse();
    let mut turns = Vec::new();
    let mut question: Option<String> = None;
    for row in rows {
        match row.role.as_str() {
            "user" => question = Some(row.content),
            _ => {
                if let Some(q) = question.take() {
                    turns.push(Turn {
                        question: q,
                        answer: row.content,
                    });
                }
            }
        }
    }
    Ok(turns)
}

#[derive(Deserialize)]
struct CallRow {
    id: String,
    created_at: String,
    session_id: String,
    provider: String,
    model: String,
    call_type: CallType,
    status: CallStatus,
    prompt_excerpt: String,
    response_excerpt: String,
    prompt_tokens: f64,
    completion_tokens: f64,
    total_tokens: f64,
    latency_ms: f64,
    metadata: String,
    usage_source: UsageSource,
    cost_usd: Option<f64>,
}

/// The logged calls of one session, oldest first.
pub async fn llm_calls(db: &D1Database, session_id: &str) -> Result<Vec<LlmCallRecord>> {
    let rows: Vec<CallRow> = stmt(
        db,
        "SELECT id, created_at, session_id, provider, model, call_type, status, prompt_excerpt, response_excerpt, \
         prompt_tokens, completion_tokens, total_tokens, latency_ms, metadata, usage_source, cost_usd \
         FROM llm_calls WHERE session_id = ?1 ORDER BY created_at, rowid",
        &[session_id.into()],
    )?
    .all()
    .await?
    .results()?;
    Ok(rows
        .into_iter()
        .map(|r| LlmCallRecord {
            id: r.id,
            created_at: r.created_at,
            session_id: r.session_id,
            provider: r.provider,
            model: r.model,
            call_type: r.call_type,
            status: r.status,
            prompt_excerpt: r.prompt_excerpt,
            response_excerpt: r.response_excerpt,
            prompt_tokens: r.prompt_tokens as u64,
            completion_tokens: r.completion_tokens as u64,
            total_tokens: r.total_tokens as u64,
            latency_ms: r.latency_ms as u64,
            usage_source: r.usage_source,
            cost_usd: r.cost_usd,
            metadata: serde_json::from_str(&r.metadata).unwrap_or(serde_json::Value::Null),
        })
        .collect())
}

#[derive(Deserialize)]
struct SessionRow {
    id: String,
    title: String,
    dataset_id: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<SessionRow> for SessionSummary {
    fn from(r: SessionRow) -> Self {
        SessionSummary {
            id: r.id,
            title: r.title,
            dataset_id: r.dataset_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The user's conversations, most recent first.
pub async fn sessions(db: &D1Database, user_id: &str) -> Result<Vec<SessionSummary>> {
    let rows: Vec<SessionRow> = stmt(
        db,
        "SELECT id, title, dataset_id, created_at, updated_at FROM sessions WHERE user_id = ?1 \
         ORDER BY updated_at DESC LIMIT 200",
        &[user_id.into()],
    )?
    .all()
    .await?
    .results()?;
    Ok(rows.into_iter().map(SessionSummary::from).collect())
}

/// The user's conversation `id`, or `None` (someone else's looks the same as none).
pub async fn session(db: &D1Database, user_id: &str, id: &str) -> Result<Option<SessionSummary>> {
    let row: Option<SessionRow> = stmt(
        db,
        "SELECT id, title, dataset_id, created_at, updated_at FROM sessions WHERE id = ?1 AND user_id = ?2",
        &[id.into(), user_id.into()],
    )?
    .first(None)
    .await?;
    Ok(row.map(SessionSummary::from))
}

/// A conversation's messages, oldest first; answers come back with their chart, confidence and tree.
pub async fn messages(db: &D1Database, session_id: &str) -> Result<Vec<StoredMessage>> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
        role: String,
        content: String,
        metadata: String,
        created_at: String,
    }
    let rows: Vec<Row> = stmt(
        db,
        "SELECT id, role, content, metadata, created_at FROM chat_messages WHERE session_id = ?1 \
         ORDER BY created_at, rowid",
        &[session_id.into()],
    )?
    .all()
    .await?
    .results()?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let answer = (r.role == "assistant")
                .then(|| serde_json::from_str::<StoredAnswer>(&r.metadata).ok())
                .flatten()
                .map(|a| a.with_text(r.content.clone()));
            StoredMessage {
                stopped: r.role == "assistant" && r.metadata == STOPPED_METADATA,
                id: r.id,
                role: r.role,
                content: r.content,
                created_at: r.created_at,
                answer,
            }
        })
        .collect())
}

pub async fn rename_session(db: &D1Database, id: &str, title: &str) -> Result<()> {
    stmt(
        db,
        "UPDATE sessions SET title = ?1 WHERE id = ?2",
        &[title.into(), id.into()],
    )?
    .run()
    .await?;
    Ok(())
}

/// Deletes the user's session `id` if it holds no message: what a question refused after its claim
/// leaves behind.
pub async fn forget_if_empty(db: &D1Database, id: &str, user_id: &str) -> Result<()> {
    stmt(
        db,
        "DELETE FROM sessions WHERE id = ?1 AND user_id = ?2 \
         AND NOT EXISTS (SELECT 1 FROM chat_messages WHERE session_id = ?1)",
        &[id.into(), user_id.into()],
    )?
    .run()
    .await?;
    Ok(())
}

/// The call-log fields a deleted conversation keeps: facts about cost, none of its words (the excerpts,
/// and the metadata's error text, SQL and reading go).
const COST_FACTS: &str = "json_object('finish_reason', json_extract(metadata, '$.finish_reason'), \
                          'ttft_ms', json_extract(metadata, '$.ttft_ms'), \
                          'cached_input_tokens', json_extract(metadata, '$.cached_input_tokens'), \
                          'reasoning_tokens', json_extract(metadata, '$.reasoning_tokens'), \
                          'failure_class', json_extract(metadata, '$.failure_class'), \
                          'retries', json_extract(metadata, '$.retries'), \
                          'breaker', json_extract(metadata, '$.breaker'), 'session_deleted', json('true'))";

/// Deletes a conversation in one batch: its messages and the session go, and its calls lose their words
/// but keep their cost facts (time, provider, model, tokens, cost, status) — spent money stays spent, so
/// deleting conversations cannot shrink usage or reset a budget.
pub async fn delete_session(db: &D1Database, id: &str) -> Result<()> {
    db.batch(vec![
        stmt(
            db,
            "DELETE FROM chat_messages WHERE session_id = ?1",
            &[id.into()],
        )?,
        stmt(
            db,
            &format!(
                "UPDATE llm_calls SET prompt_excerpt = '', response_excerpt = '', metadata = {COST_FACTS} \
                 WHERE session_id = ?1"
            ),
            &[id.into()],
        )?,
        stmt(db, "DELETE FROM sessions WHERE id = ?1", &[id.into()])?,
    ])
    .await?;
    Ok(())
}
