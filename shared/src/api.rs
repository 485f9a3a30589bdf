//! The HTTP API's wire types: requests, the streamed events, the final answer and the one error shape.

use serde::{Deserialize, Serialize};

use crate::tree::ExecutionTree;
use crate::words::wire_words;

/// Longest question the API accepts, in characters.
pub const MAX_MESSAGE_CHARS: usize = 8_000;
/// Longest session id the API accepts, in characters.
pub const MAX_SESSION_ID_CHARS: usize = 128;

/// Body of `POST /api/v1/chat` and `POST /api/v1/chat/stream`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    pub message: String,
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<String>,
    /// Regenerate, edit and resend: the conversation keeps only its first `rewind_to` questions (and their
    /// answers); this question replaces the rest once its answer is stored. Absent: it follows them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewind_to: Option<u32>,
}

/// A JSON request body the API accepts: read, then checked, so every client gets the same 400 for the same
/// mistake.
pub trait RequestBody: serde::de::DeserializeOwned {
    /// What the body should be, said in the 400 for a body that is not JSON of that shape.
    const EXPECTED: &'static str;

    /// What JSON cannot say: lengths, formats.
    fn check(&self) -> Result<(), ApiError> {
        Ok(())
    }

    fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let value: Self = serde_json::from_slice(body)
            .map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("{}: {e}", Self::EXPECTED)))?;
        value.check()?;
        Ok(value)
    }
}

impl RequestBody for ChatRequest {
    const EXPECTED: &'static str = "invalid JSON body";

    fn check(&self) -> Result<(), ApiError> {
        if self.message.trim().is_empty() {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "`message` must not be empty",
            ));
        }
        if self.message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("`message` is longer than {MAX_MESSAGE_CHARS} characters"),
            ));
        }
        if !is_valid_id(&self.session_id) {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!(
                    "`session_id` must be 1-{MAX_SESSION_ID_CHARS} characters of letters, digits, `-` or `_`"
                ),
            ));
        }
        Ok(())
    }
}

/// Whether `id` is a well-formed client-chosen identifier (session ids and the like).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_SESSION_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

wire_words! {
    /// How much the answer can be trusted.
    pub enum Confidence {
        High = "high",
        Medium = "medium",
        Low = "low",
    }
}

/// Token counts of one answer (summed over its LLM calls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

impl Usage {
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        }
    }
}

wire_words! {
    /// The kinds of chart the app draws.
    pub enum ChartType {
        Bar = "bar",
        Line = "line",
        Pie = "pie",
        Scatter = "scatter",
        Table = "table",
    }
}

/// A chart to draw beside the answer; `data` always comes from computed results, never from a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartConfig {
    #[serde(rename = "type")]
    pub chart_type: ChartType,
    pub x: String,
    pub y: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    pub title: String,
    pub data: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Details of how an answer was produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerMetadata {
    pub execution_tree: ExecutionTree,
    pub usage: Usage,
    pub provider: String,
    pub model: String,
    pub latency_ms: u64,
    /// Dollars spent on the answer's LLM calls; `None` when a model has no known price.
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// The dataset (and its version) the answer was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<DatasetRef>,
}

/// The final answer: the `complete` event's data, and the body of `POST /api/v1/chat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatAnswer {
    pub message: String,
    pub chart_config: Option<ChartConfig>,
    pub confidence: Confidence,
    pub metadata: AnswerMetadata,
}

wire_words! {
    /// Machine-readable phase of the work, sent with a human-readable message.
    pub enum Phase {
        Analyzing = "analyzing",
        /// A model is choosing the queries to run.
        Planning = "planning",
        /// SQL is running over the dataset.
        Querying = "querying",
        CallingModel = "calling_model",
        Writing = "writing",
        /// About the user's monthly budget: 80 % of it spent, or all of it (the built-in analyst answers).
        Budget = "budget",
    }
}

/// One event of `POST /api/v1/chat/stream`, framed on the wire as `data: {"type": …, "data": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum StreamEvent {
    Status {
        status: Phase,
        message: String,
    },
    Content {
        content: String,
    },
    /// The text streamed so far must be thrown away: the provider writing it failed mid-answer, and the
    /// answer starts again (from the next attempt or provider) in the `content` events that follow.
    Discard {
        reason: String,
    },
    TreeUpdate {
        execution_tree: Box<ExecutionTree>,
    },
    Complete(Box<ChatAnswer>),
    Error(ErrorBody),
}

/// A [`StreamEvent`] as it goes out: numbered within its answer's stream, so one answer can be fanned out
/// to several listeners and a listener can tell what it missed. On the wire the event's own members sit
/// beside `session_id`, `stream_id` and `seq` (`{"type": …, "data": {…}, "session_id": "…", "stream_id":
/// "…", "seq": 3}`), so a client that
/// reads only the event reads it unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamFrame {
    /// First on the wire: a frame starts `{"type":…`, which is how `worker/guard.mjs` spots the last one.
    #[serde(flatten)]
    pub event: StreamEvent,
    /// The conversation the answer belongs to (a tab showing another one marks it "answering…").
    pub session_id: String,
    /// One answer's stream: the same for every event of it.
    pub stream_id: String,
    /// 1 for the first event of the stream, then 2, 3…, with no gaps.
    pub seq: u64,
}

impl StreamEvent {
    /// Whether the stream ends after this event.
    pub fn is_terminal(&self) -> bool {
        matches!(self, StreamEvent::Complete(_) | StreamEvent::Error(_))
    }
}

wire_words! {
    /// Stable error codes: clients branch on these, so they never change meaning.
    pub enum ErrorCode {
        BadRequest = "BAD_REQUEST",
        Unauthorized = "UNAUTHORIZED",
        /// The resource exists but cannot be changed by the caller (the built-in sample dataset).
        Forbidden = "FORBIDDEN",
        NotFound = "NOT_FOUND",
        MethodNotAllowed = "METHOD_NOT_ALLOWED",
        PayloadTooLarge = "PAYLOAD_TOO_LARGE",
        RateLimited = "RATE_LIMITED",
        ProviderError = "PROVIDER_ERROR",
        /// Every configured provider failed or was skipped (circuit open), and no built-in fallback answers.
        ProvidersUnavailable = "PROVIDERS_UNAVAILABLE",
        /// An upload that is not a readable table; `reason` holds the CSV_* code and `line` the line.
        InvalidCsv = "INVALID_CSV",
        /// The user's monthly budget is spent and no built-in analyst may answer; `reset_at` says when it
        /// starts over.
        BudgetExceeded = "BUDGET_EXCEEDED",
        /// The client went away before the answer was complete.
        Cancelled = "CANCELLED",
        Internal = "INTERNAL",
    }
}

impl ErrorCode {
    /// The HTTP status this error answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::ProviderError => 502,
            ErrorCode::ProvidersUnavailable => 503,
            ErrorCode::InvalidCsv => 400,
            ErrorCode::BudgetExceeded => 402,
            ErrorCode::Cancelled => 499,
            ErrorCode::Internal => 500,
        }
    }
}

/// The `code` + `message` pair carried by every error, streamed or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds to wait before retrying, for `RATE_LIMITED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// A finer-grained stable code, e.g. `CSV_RAGGED_ROW` under `INVALID_CSV`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The line of the input the error is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// When a spent budget starts over (ISO 8601, UTC), for `BUDGET_EXCEEDED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_at: Option<String>,
}

/// The one JSON shape of every non-2xx response: `{"error": {"code", "message", ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: ErrorBody,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorBody {
                code,
                message: message.into(),
                retry_after_secs: None,
                reason: None,
                line: None,
                reset_at: None,
            },
        }
    }

    /// The monthly budget is spent; it starts over at `reset_at`.
    pub fn budget_exceeded(reset_at: String) -> Self {
        let mut err = Self::new(
            ErrorCode::BudgetExceeded,
            format!("this month's budget is spent; it starts over at {reset_at}"),
        );
        err.error.reset_at = Some(reset_at);
        err
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            ErrorCode::RateLimited,
            format!("too many requests; try again in {retry_after_secs} s"),
        );
        err.error.retry_after_secs = Some(retry_after_secs);
        err
    }

    pub fn status(&self) -> u16 {
        self.error.code.http_status()
    }
}

/// Why an upload could not be read: `PAYLOAD_TOO_LARGE` past the size limit, else `INVALID_CSV`, with the
/// CSV error's own code as `reason` and its line.
impl From<crate::csv::CsvError> for ApiError {
    fn from(e: crate::csv::CsvError) -> Self {
        let code = match e {
            crate::csv::CsvError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            _ => ErrorCode::InvalidCsv,
        };
        let mut err = ApiError::new(code, e.to_string());
        err.error.reason = Some(e.code().to_owned());
        err.error.line = e.line();
        err
    }
}

/// One of the caller's datasets, as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub id: String,
    pub name: String,
    /// A content hash of the uploaded bytes.
    pub version: String,
    pub row_count: u64,
    pub column_count: u64,
    pub size_bytes: u64,
    pub created_at: String,
    /// Privacy mode: only the schema and aggregate statistics (and the results a question needs) go to
    /// external providers, never sample rows.
    #[serde(default)]
    pub privacy: bool,
    /// The built-in sample every user has; it cannot be deleted.
    #[serde(default)]
    pub builtin: bool,
}

/// `PATCH /api/v1/datasets/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetUpdate {
    pub privacy: bool,
}

impl RequestBody for DatasetUpdate {
    const EXPECTED: &'static str = "expected {\"privacy\": true|false}";
}

/// Which data an answer was computed from, recorded with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRef {
    pub id: String,
    pub name: String,
    pub version: String,
}

/// `GET /api/v1/datasets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetList {
    pub datasets: Vec<DatasetSummary>,
}

/// `GET /api/v1/datasets/{id}` and the answer to an upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetDetail {
    #[serde(flatten)]
    pub summary: DatasetSummary,
    pub profile: crate::profile::Profile,
}

/// `GET /api/v1/datasets/{id}/rows`: a page of rows, values as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRows {
    pub columns: Vec<String>,
    pub offset: u64,
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// `GET /api/v1/chat/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderMetrics {
    pub providers: Vec<crate::routing::ProviderMetricsView>,
    /// How storing answers has gone since the store began counting.
    #[serde(default)]
    pub storage: StorageMetrics,
}

/// Answers stored, by how storing went: at once, after one retry, shortened (the whole was refused
/// twice), with only the question and call log, or not at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageMetrics {
    pub stored: u64,
    pub retried: u64,
    pub shortened: u64,
    pub without_answer: u64,
    pub failed: u64,
}

impl StorageMetrics {
    /// The counter names, in the order storing falls back through them.
    pub const OUTCOMES: [&'static str; 5] = ["stored", "retried", "shortened", "without_answer", "failed"];

    /// Reads counters by name; unknown names are ignored.
    pub fn from_counts<'a>(counts: impl IntoIterator<Item = (&'a str, u64)>) -> Self {
        let mut m = Self::default();
        for (name, n) in counts {
            match name {
                "stored" => m.stored = n,
                "retried" => m.retried = n,
                "shortened" => m.shortened = n,
                "without_answer" => m.without_answer = n,
                "failed" => m.failed = n,
                _ => {}
            }
        }
        m
    }
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub providers: Vec<String>,
}

/// `POST /api/v1/auth/dev-token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevToken {
    pub token: String,
    pub user_id: String,
    pub expires_at: u64,
}

/// One row of `GET /api/v1/sessions/{id}/llm-calls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmCallRecord {
    pub id: String,
    pub created_at: String,
    pub session_id: String,
    pub provider: String,
    pub model: String,
    pub call_type: crate::llm::CallType,
    pub status: crate::tree::CallStatus,
    pub prompt_excerpt: String,
    pub response_excerpt: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub usage_source: crate::llm::UsageSource,
    pub cost_usd: Option<f64>,
    pub latency_ms: u64,
    pub metadata: serde_json::Value,
}

/// One conversation, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub id: String,
    pub title: String,
    /// The dataset its latest question was about.
    pub dataset_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /api/v1/sessions`: the caller's conversations, most recent first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionSummary>,
}

/// Ends the text of an answer that could not be stored whole.
pub const SHORTENED_MARKER: &str =
    "\n\n*[This answer could not be saved whole: the saved copy is shortened, without its chart and steps.]*";

fn json_len<T: Serialize>(value: &T) -> usize {
    serde_json::to_string(value).map_or(usize::MAX, |j| j.len())
}

/// What an answer stores besides its text, so it comes back whole after a reload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAnswer {
    pub chart_config: Option<ChartConfig>,
    pub confidence: Confidence,
    pub metadata: AnswerMetadata,
}

impl StoredAnswer {
    pub fn of(answer: &ChatAnswer) -> Self {
        Self {
            chart_config: answer.chart_config.clone(),
            confidence: answer.confidence,
            metadata: answer.metadata.clone(),
        }
    }

    /// What is stored of an answer (`text` and `self`) within `max_bytes`, or `None` when it fits whole.
    pub fn shortened(&self, text: &str, max_bytes: usize) -> Option<(String, StoredAnswer)> {
        let size = text.len().saturating_add(json_len(self));
        (size > max_bytes).then(|| self.reduced(text, max_bytes))
    }

    /// A reduced copy of an answer within `max_bytes`: the provider, usage and cost are kept; the chart and
    /// the tree's steps are dropped; the text is cut to fit and ends with [`SHORTENED_MARKER`].
    pub fn reduced(&self, text: &str, max_bytes: usize) -> (String, StoredAnswer) {
        let mut kept = self.clone();
        kept.chart_config = None;
        kept.metadata.execution_tree.root.children.clear();
        let room = max_bytes
            .saturating_sub(json_len(&kept) + SHORTENED_MARKER.len())
            .min(text.len());
        (
            format!("{}{SHORTENED_MARKER}", crate::text::prefix_within(text, room)),
            kept,
        )
    }

    pub fn with_text(self, message: String) -> ChatAnswer {
        ChatAnswer {
            message,
            chart_config: self.chart_config,
            confidence: self.confidence,
            metadata: self.metadata,
        }
    }
}

/// One stored message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub id: String,
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
    pub created_at: String,
    /// For an answer: its chart, confidence and execution tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<ChatAnswer>,
    /// An answer stopped before it completed: `content` is the text shown until then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
}

/// `GET /api/v1/sessions/{id}`: a conversation with its messages, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub session: SessionSummary,
    pub messages: Vec<StoredMessage>,
}

/// `PATCH /api/v1/sessions/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionUpdate {
    pub title: String,
}

/// Longest conversation title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

impl RequestBody for SessionUpdate {
    const EXPECTED: &'static str = "expected {\"title\": \"…\"}";

    fn check(&self) -> Result<(), ApiError> {
        let n = self.title.trim().chars().count();
        if n == 0 || n > MAX_TITLE_CHARS {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("`title` must be 1-{MAX_TITLE_CHARS} characters"),
            ));
        }
        Ok(())
    }
}

/// `GET /api/v1/sessions/{id}/llm-calls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmCallList {
    pub session_id: String,
    pub calls: Vec<LlmCallRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numbered_frame_carries_its_event_unchanged_beside_the_stream_id_and_seq() {
        let event = StreamEvent::Content {
            content: "West leads".into(),
        };
        let frame = StreamFrame {
            session_id: "c-1".into(),
            stream_id: "s-1".into(),
            seq: 3,
            event: event.clone(),
        };
        let text = serde_json::to_string(&frame).unwrap();
        assert!(text.starts_with(r#"{"type":"content","#), "{text}");
        let wire = serde_json::to_value(&frame).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({"type": "content", "data": {"content": "West leads"}, "session_id": "c-1", "stream_id": "s-1", "seq": 3})
        );
        assert_eq!(
            serde_json::from_value::<StreamFrame>(wire.clone()).unwrap(),
            frame
        );
        // A client that reads only events reads it as before.
        assert_eq!(serde_json::from_value::<StreamEvent>(wire).unwrap(), event);
    }

    #[test]
    fn an_answer_too_big_to_store_is_kept_shortened_with_a_marker() {
        let mut tree = ExecutionTree::new("Answer question");
        let root = tree.root_id();
        tree.start(root, crate::tree::NodeKind::Step, "x".repeat(5_000), 0);
        let stored = StoredAnswer {
            chart_config: None,
            confidence: Confidence::High,
            metadata: AnswerMetadata {
                execution_tree: tree,
                usage: Usage::new(10, 20),
                provider: "openai".into(),
                model: "gpt".into(),
                latency_ms: 5,
                cost_usd: Some(0.5),
                dataset: None,
            },
        };
        assert_eq!(
            stored.shortened("short", 100_000),
            None,
            "what fits is stored whole"
        );
        let text = "é".repeat(50_000);
        let (cut, kept) = stored.shortened(&text, 20_000).unwrap();
        assert!(cut.ends_with(SHORTENED_MARKER) && cut.starts_with("éé"));
        let size = cut.len() + serde_json::to_string(&kept).unwrap().len();
        assert!(size <= 20_000 && size > 19_000, "{size}");
        assert!(kept.metadata.execution_tree.root.children.is_empty());
        assert_eq!(
            (kept.metadata.provider.as_str(), kept.metadata.cost_usd),
            ("openai", Some(0.5))
        );
    }

    #[test]
    fn stream_events_use_the_documented_wire_shape() {
        let ev = StreamEvent::Content {
            content: "Hel".into(),
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"type":"content","data":{"content":"Hel"}}"#
        );
        let ev = StreamEvent::Status {
            status: Phase::Analyzing,
            message: "Analyzing query…".into(),
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"type":"status","data":{"status":"analyzing","message":"Analyzing query…"}}"#
        );
        let ev = StreamEvent::Error(ApiError::new(ErrorCode::RateLimited, "slow down").error);
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"type":"error","data":{"code":"RATE_LIMITED","message":"slow down"}}"#
        );
    }

    #[test]
    fn a_confidence_reads_as_its_wire_word() {
        for c in [Confidence::High, Confidence::Medium, Confidence::Low] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    #[test]
    fn malformed_chat_bodies_are_rejected_with_bad_request() {
        for body in [
            &b"not json"[..],
            br#"{"session_id":"s1"}"#,
            br#"{"message":"   ","session_id":"s1"}"#,
            br#"{"message":"hi","session_id":""}"#,
            br#"{"message":"hi","session_id":"../etc"}"#,
            br#"{"message":"hi","session_id":"s1","extra":1}"#,
        ] {
            let err = ChatRequest::parse(body).unwrap_err();
            assert_eq!(
                err.error.code,
                ErrorCode::BadRequest,
                "{}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(err.status(), 400);
        }
    }

    #[test]
    fn a_well_formed_chat_body_parses() {
        let req = ChatRequest::parse(br#"{"message":"How many rows?","session_id":"abc-1"}"#).unwrap();
        assert_eq!(req.message, "How many rows?");
        assert_eq!(req.dataset_id, None);
    }
}
