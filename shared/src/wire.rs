//! The API's JSON read without serde's derive. The browser app parses responses with the browser's own
//! `JSON.parse` and reads them through these readers: serde's generated deserializers and serde_json's
//! parser were a sixth of the app's wasm. Each reader accepts what the server's serde writes (missing
//! `Option` members are `None`, `#[serde(default)]` members take their default); the tests check that on
//! every type the app reads, against the derived `Deserialize`.

use serde_json::{Map, Number, Value};

use crate::api::{
    AnswerMetadata, ApiError, ChartConfig, ChatAnswer, DatasetDetail, DatasetList, DatasetRef, DatasetRows,
    DatasetSummary, DevToken, ErrorBody, SessionDetail, SessionList, SessionSummary, StoredMessage,
    StreamEvent, StreamFrame, Usage,
};
use crate::hub::{HubFrame, Incoming, TicketGrant};
use crate::profile::{ColumnProfile, NumericProfile, Profile};
use crate::tree::{ExecutionTree, LlmCallInfo, QueryInfo, TreeNode};
use crate::usage::{CostEstimate, UsageReport, UsageRow, UsageSummary};

/// One JSON value, as a parser hands it over.
pub enum Kind<J> {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<J>),
    Object(Vec<(String, J)>),
}

/// A parsed JSON value: `serde_json::Value` here, the browser's parsed object in the app.
pub trait Json: Sized {
    /// An object's member; `None` when it is missing or this is not an object.
    fn member(&self, key: &str) -> Option<Self>;
    fn kind(&self) -> Kind<Self>;
}

/// Where a JSON document did not have the expected shape: a dotted path such as `metadata.usage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub path: String,
}

impl WireError {
    pub(crate) fn here() -> Self {
        WireError { path: String::new() }
    }

    fn inside(mut self, key: &str) -> Self {
        self.path = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{key}.{}", self.path)
        };
        self
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.path.as_str() {
            "" => f.write_str("unexpected JSON"),
            path => write!(f, "unexpected JSON at `{path}`"),
        }
    }
}

impl std::error::Error for WireError {}

pub trait FromJson: Sized {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError>;

    /// The value of a member that is missing, when it may be (serde reads a missing `Option` as `None`).
    fn absent() -> Option<Self> {
        None
    }
}

/// A member that must be there (unless its type has an [`FromJson::absent`] value).
fn req<T: FromJson, J: Json>(j: &J, key: &str) -> Result<T, WireError> {
    match j.member(key) {
        Some(v) => T::from_json(&v).map_err(|e| e.inside(key)),
        None => T::absent().ok_or_else(|| WireError::here().inside(key)),
    }
}

/// A `#[serde(default)]` member.
fn or_default<T: FromJson + Default, J: Json>(j: &J, key: &str) -> Result<T, WireError> {
    Ok(req::<Option<T>, J>(j, key)?.unwrap_or_default())
}

impl FromJson for String {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        match j.kind() {
            Kind::String(s) => Ok(s),
            _ => Err(WireError::here()),
        }
    }
}

impl FromJson for bool {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        match j.kind() {
            Kind::Bool(b) => Ok(b),
            _ => Err(WireError::here()),
        }
    }
}

impl FromJson for f64 {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        match j.kind() {
            Kind::Number(n) => Ok(n),
            _ => Err(WireError::here()),
        }
    }
}

/// Whole numbers: the counts and milliseconds of the API, all far below 2^53.
fn whole<J: Json>(j: &J, max: f64) -> Result<f64, WireError> {
    match j.kind() {
        Kind::Number(n) if n >= 0.0 && n <= max && n.fract() == 0.0 => Ok(n),
        _ => Err(WireError::here()),
    }
}

impl FromJson for u64 {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        whole(j, u64::MAX as f64).map(|n| n as u64)
    }
}

impl FromJson for u32 {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        whole(j, u32::MAX as f64).map(|n| n as u32)
    }
}

impl FromJson for usize {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        whole(j, u32::MAX as f64).map(|n| n as usize)
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        match j.kind() {
            Kind::Null => Ok(None),
            _ => T::from_json(j).map(Some),
        }
    }

    fn absent() -> Option<Self> {
        Some(None)
    }
}

impl<T: FromJson> FromJson for Box<T> {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        T::from_json(j).map(Box::new)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        let Kind::Array(items) = j.kind() else {
            return Err(WireError::here());
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| T::from_json(item).map_err(|e| e.inside(&i.to_string())))
            .collect()
    }
}

impl<A: FromJson, B: FromJson> FromJson for (A, B) {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        match j.kind() {
            Kind::Array(items) if items.len() == 2 => Ok((
                A::from_json(&items[0]).map_err(|e| e.inside("0"))?,
                B::from_json(&items[1]).map_err(|e| e.inside("1"))?,
            )),
            _ => Err(WireError::here()),
        }
    }
}

/// Any JSON, for the members the API leaves open (chart data, preview cells). Whole numbers become
/// integers, as serde_json reads `3`; the browser's parser does not tell `3.0` from `3`.
impl FromJson for Value {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        Ok(match j.kind() {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(b),
            Kind::Number(n) if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 => {
                Value::from(n as i64)
            }
            Kind::Number(n) => Number::from_f64(n).map_or(Value::Null, Value::Number),
            Kind::String(s) => Value::String(s),
            Kind::Array(items) => Value::Array(items.iter().map(Value::from_json).collect::<Result<_, _>>()?),
            Kind::Object(_) => Value::Object(Map::from_json(j)?),
        })
    }
}

impl FromJson for Map<String, Value> {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        let Kind::Object(members) = j.kind() else {
            return Err(WireError::here());
        };
        members
            .into_iter()
            .map(|(k, v)| Value::from_json(&v).map(|v| (k, v)))
            .collect()
    }
}

impl Json for Value {
    fn member(&self, key: &str) -> Option<Self> {
        self.get(key).cloned()
    }

    fn kind(&self) -> Kind<Self> {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => n.as_f64().map_or(Kind::Null, Kind::Number),
            Value::String(s) => Kind::String(s.clone()),
            Value::Array(items) => Kind::Array(items.clone()),
            Value::Object(map) => Kind::Object(map.clone().into_iter().collect()),
        }
    }
}

/// Structs, read member by member; `name: "key"` a renamed member,
/// `name = default` a `#[serde(default)]` one and `name ..flatten` a flattened one.
macro_rules! structs {
    ($($ty:ident { $($field:ident $(: $key:literal)? $(= $default:ident)? $(..$flat:ident)?),+ $(,)? })+) => {$(
        impl FromJson for $ty {
            fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
                Ok($ty { $($field: structs!(@read j, $field $(: $key)? $(= $default)? $(..$flat)?),)+ })
            }
        }
    )+};
    (@read $j:ident, $field:ident) => { req($j, stringify!($field))? };
    (@read $j:ident, $field:ident : $key:literal) => { req($j, $key)? };
    (@read $j:ident, $field:ident = default) => { or_default($j, stringify!($field))? };
    (@read $j:ident, $field:ident ..flatten) => { FromJson::from_json($j)? };
}

structs! {
    Usage { prompt_tokens, completion_tokens, total_tokens }
    ChartConfig { chart_type: "type", x, y, series, title, data }
    AnswerMetadata { execution_tree, usage, provider, model, latency_ms, cost_usd, dataset }
    ChatAnswer { message, chart_config, confidence, metadata }
    ErrorBody { code, message, retry_after_secs, reason, line, reset_at = default }
    UsageSummary {
        month, spent_usd, budget_usd, percent_used, projected_usd, reset_at, calls, input_tokens, output_tokens,
        unpriced_calls,
    }
    UsageRow {
        key, label = default, calls, input_tokens, output_tokens, cost_usd, p50_latency_ms, failed_calls,
        fallback_calls, estimated_calls, unpriced_calls,
    }
    UsageReport { group_by, from, to, rows, total }
    CostEstimate { provider, model, input_per_m, output_per_m, unpriced, prompt_tokens, max_output_tokens }
    ApiError { error }
    DatasetSummary {
        id, name, version, row_count, column_count, size_bytes, created_at, privacy = default, builtin = default,
    }
    DatasetRef { id, name, version }
    DatasetList { datasets }
    DatasetDetail { summary ..flatten, profile }
    DatasetRows { columns, offset, rows }
    DevToken { token, user_id, expires_at }
    SessionSummary { id, title, dataset_id, created_at, updated_at }
    SessionList { sessions }
    StoredMessage { id, role, content, created_at, answer, stopped = default }
    SessionDetail { session ..flatten, messages }
    LlmCallInfo {
        provider, model, prompt_tokens, completion_tokens, cost_usd, ttft_ms, retries, outcome = default,
        failure_class, breaker = default,
    }
    QueryInfo { sql, rows }
    TreeNode { id, kind, label, status, started_ms, duration_ms, detail, llm, query, children = default }
    NumericProfile { min, max, mean, std_dev, q1, median, q3, exact_quartiles }
    ColumnProfile {
        name, ty: "type", nulls, distinct, distinct_exact, numeric, top_values = default, values = default,
        date_range,
        date_format = default, note = default
    }
    Profile { rows, columns, sample_rows }
}

impl FromJson for ExecutionTree {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        Ok(ExecutionTree::with_root(req(j, "root")?))
    }
}

/// `{"type": …, "data": {…}}`, the members in either order.
impl FromJson for StreamEvent {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        let data = j.member("data").ok_or_else(|| WireError::here().inside("data"))?;
        let inside = |e: WireError| e.inside("data");
        Ok(match req::<String, J>(j, "type")?.as_str() {
            "status" => StreamEvent::Status {
                status: req(&data, "status").map_err(inside)?,
                message: req(&data, "message").map_err(inside)?,
            },
            "content" => StreamEvent::Content {
                content: req(&data, "content").map_err(inside)?,
            },
            "discard" => StreamEvent::Discard {
                reason: req(&data, "reason").map_err(inside)?,
            },
            "tree_update" => StreamEvent::TreeUpdate {
                execution_tree: req(&data, "execution_tree").map_err(inside)?,
            },
            "complete" => StreamEvent::Complete(FromJson::from_json(&data).map_err(inside)?),
            "error" => StreamEvent::Error(FromJson::from_json(&data).map_err(inside)?),
            _ => return Err(WireError::here().inside("type")),
        })
    }
}

structs! {
    StreamFrame { event ..flatten, session_id, stream_id, seq }
    TicketGrant { ticket, expires_in }
}

/// `{"type": …, "data": {…}}`; `sessions_changed` has no data.
impl FromJson for HubFrame {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        let kind: String = req(j, "type")?;
        if kind == "sessions_changed" {
            return Ok(HubFrame::SessionsChanged);
        }
        let data = j.member("data").ok_or_else(|| WireError::here().inside("data"))?;
        let field =
            |key: &str| -> Result<String, WireError> { req(&data, key).map_err(|e| e.inside("data")) };
        Ok(match kind.as_str() {
            "connection_status" => HubFrame::ConnectionStatus {
                status: field("status")?,
                active_tabs: req(&data, "active_tabs").map_err(|e| e.inside("data"))?,
            },
            "stream_started" => HubFrame::StreamStarted {
                stream_id: field("stream_id")?,
                session_id: field("session_id")?,
                request_id: field("request_id")?,
                question: field("question")?,
            },
            "stopped" => HubFrame::Stopped {
                stream_id: field("stream_id")?,
            },
            "error" => HubFrame::Error(FromJson::from_json(&data).map_err(|e| e.inside("data"))?),
            _ => return Err(WireError::here().inside("type")),
        })
    }
}

/// An answer's event carries a `seq`; everything else the hub sends does not.
impl FromJson for Incoming {
    fn from_json<J: Json>(j: &J) -> Result<Self, WireError> {
        Ok(match j.member("seq") {
            Some(_) => Incoming::Stream(FromJson::from_json(j)?),
            None => Incoming::Hub(FromJson::from_json(j)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use serde_json::json;

    use super::*;
    use crate::api::{ChartType, Confidence, ErrorCode, Phase};
    use crate::routing::FailureClass;
    use crate::schema::ColumnType;
    use crate::tree::{NodeKind, NodeStatus};

    /// What the app reads from `value` equals what the derived `Deserialize` reads from it.
    fn reads_as_derived<T>(value: &T)
    where
        T: FromJson + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let wire = serde_json::to_value(value).unwrap();
        let derived: T = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(T::from_json(&wire).unwrap(), derived, "{wire}");
    }

    fn tree() -> ExecutionTree {
        let mut tree = ExecutionTree::new("Answer question");
        let step = tree.start(tree.root_id(), NodeKind::Step, "Plan", 1);
        let call = tree.start(step, NodeKind::LlmCall, "openai", 2);
        let node = tree.node_mut(call).unwrap();
        node.llm = Some(LlmCallInfo {
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            prompt_tokens: 812,
            completion_tokens: 64,
            cost_usd: 0.00016,
            ttft_ms: Some(420),
            retries: 1,
            outcome: crate::tree::CallStatus::Error,
            failure_class: Some(FailureClass::FirstTokenTimeout),
            breaker: crate::tree::Circuit::HalfOpen,
        });
        tree.finish(call, NodeStatus::Failed, 30);
        let query = tree.start(step, NodeKind::Query, "SQL", 31);
        let node = tree.node_mut(query).unwrap();
        node.query = Some(QueryInfo {
            sql: "SELECT region, SUM(revenue) FROM data GROUP BY 1".into(),
            rows: Some(4),
        });
        node.detail = Some("4 rows".into());
        tree.finish(query, NodeStatus::Done, 40);
        tree
    }

    fn answer() -> ChatAnswer {
        serde_json::from_value(json!({
            "message": "**West** leads", "confidence": "high",
            "chart_config": {"type": "bar", "x": "region", "y": "revenue", "series": "year", "title": "Revenue",
                             "data": [{"region": "West", "revenue": 1250.5, "orders": 3, "year": null}]},
            "metadata": {"execution_tree": tree(), "usage": {"prompt_tokens": 3, "completion_tokens": 4,
                         "total_tokens": 7}, "provider": "openai", "model": "m", "latency_ms": 12, "cost_usd": 0.5,
                         "dataset": {"id": "d1", "name": "sales.csv", "version": "v2"}}
        }))
        .unwrap()
    }

    #[test]
    fn every_stream_event_reads_as_the_server_wrote_it_whichever_member_comes_first() {
        let events = [
            StreamEvent::Status {
                status: Phase::Querying,
                message: "Running SQL…".into(),
            },
            StreamEvent::Content {
                content: "Hel\"lo\n😀".into(),
            },
            StreamEvent::Discard {
                reason: "stall".into(),
            },
            StreamEvent::TreeUpdate {
                execution_tree: Box::new(tree()),
            },
            StreamEvent::Complete(Box::new(answer())),
            StreamEvent::Error(ApiError::rate_limited(7).error),
        ];
        for ev in events {
            reads_as_derived(&ev);
            let wire = serde_json::to_value(&ev).unwrap();
            let data_first = json!({"data": wire["data"], "type": wire["type"]});
            // Compared with the derived reading: a tree's next node id is not sent.
            let derived: StreamEvent = serde_json::from_value(wire).unwrap();
            assert_eq!(
                StreamEvent::from_json(&data_first).unwrap(),
                derived,
                "{data_first}"
            );
        }
    }

    #[test]
    fn every_frame_the_hub_sends_reads_as_the_hub_wrote_it() {
        let frames = [
            Incoming::Hub(HubFrame::connected(3)),
            Incoming::Hub(HubFrame::StreamStarted {
                stream_id: "st".into(),
                session_id: "s".into(),
                request_id: "r".into(),
                question: "How many rows?".into(),
            }),
            Incoming::Hub(HubFrame::Stopped {
                stream_id: "st".into(),
            }),
            Incoming::Hub(HubFrame::SessionsChanged),
            Incoming::Hub(HubFrame::Error(ApiError::rate_limited(7).error)),
            Incoming::Stream(StreamFrame {
                event: StreamEvent::Error(ApiError::new(ErrorCode::Cancelled, "stopped").error),
                session_id: "s".into(),
                stream_id: "st".into(),
                seq: 9,
            }),
            Incoming::Stream(StreamFrame {
                event: StreamEvent::Content { content: "Hi".into() },
                session_id: "s".into(),
                stream_id: "st".into(),
                seq: 1,
            }),
        ];
        for frame in frames {
            reads_as_derived(&frame);
        }
        reads_as_derived(&TicketGrant {
            ticket: "t".into(),
            expires_in: 60,
        });
        assert!(Incoming::from_json(&json!({"type": "dreaming", "data": {}})).is_err());
    }

    #[test]
    fn stored_conversations_and_datasets_read_as_the_server_wrote_them() {
        let summary = SessionSummary {
            id: "s1".into(),
            title: "Revenue".into(),
            dataset_id: Some("d1".into()),
            created_at: "2026-11-01T10:00:00Z".into(),
            updated_at: "2026-11-01T10:05:00Z".into(),
        };
        reads_as_derived(&SessionList {
            sessions: vec![
                summary.clone(),
                SessionSummary {
                    dataset_id: None,
                    ..summary.clone()
                },
            ],
        });
        let question = StoredMessage {
            id: "m1".into(),
            role: "user".into(),
            content: "Revenue by region?".into(),
            created_at: "2026-11-01T10:00:00Z".into(),
            answer: None,
            stopped: false,
        };
        let reply = StoredMessage {
            id: "m2".into(),
            role: "assistant".into(),
            answer: Some(answer()),
            ..question.clone()
        };
        let stopped = StoredMessage {
            id: "m3".into(),
            role: "assistant".into(),
            stopped: true,
            ..question.clone()
        };
        reads_as_derived(&SessionDetail {
            session: summary,
            messages: vec![question, reply, stopped],
        });

        let dataset = DatasetSummary {
            id: "d1".into(),
            name: "sales.csv".into(),
            version: "v2".into(),
            row_count: 3,
            column_count: 4,
            size_bytes: 120,
            created_at: "2026-11-01T09:00:00Z".into(),
            privacy: true,
            builtin: false,
        };
        reads_as_derived(&DatasetList {
            datasets: vec![dataset.clone()],
        });
        let profile = crate::test_support::profile_of(
            "region,revenue,day,note\nWest,1250.5,2026-01-02,\nEast,980,2026-01-03,late\nWest,12,2026-02-01,x\n",
        );
        assert!(profile.columns.iter().any(|c| c.numeric.is_some()));
        assert!(profile.columns.iter().any(|c| !c.top_values.is_empty()));
        assert!(profile.columns.iter().any(|c| c.date_range.is_some()));
        reads_as_derived(&DatasetDetail {
            summary: dataset,
            profile,
        });
        reads_as_derived(&DatasetRows {
            columns: vec!["region".into(), "revenue".into()],
            offset: 0,
            rows: vec![vec![json!("West"), json!(1250.5)], vec![json!(null), json!(-3)]],
        });
        reads_as_derived(&DevToken {
            token: "eyJ…".into(),
            user_id: "u1".into(),
            expires_at: 1_800_000_000,
        });
        let mut refused = ApiError::new(ErrorCode::InvalidCsv, "row 3 has 2 fields");
        refused.error.reason = Some("CSV_RAGGED".into());
        refused.error.line = Some(3);
        reads_as_derived(&refused);
        reads_as_derived(&ApiError::budget_exceeded("2027-01-01T00:00:00Z".into()));
    }

    #[test]
    fn usage_reads_as_the_server_wrote_it() {
        let row = UsageRow {
            key: "2026-12-07".into(),
            label: None,
            calls: 12,
            input_tokens: 9_000,
            output_tokens: 400,
            cost_usd: 0.0123,
            p50_latency_ms: 840,
            failed_calls: 1,
            fallback_calls: 2,
            estimated_calls: 3,
            unpriced_calls: 0,
        };
        reads_as_derived(&UsageReport {
            group_by: "session".into(),
            from: "2026-12-01".into(),
            to: "2026-12-07".into(),
            rows: vec![
                row.clone(),
                UsageRow {
                    label: Some("Revenue by region".into()),
                    ..row.clone()
                },
            ],
            total: UsageRow {
                key: "total".into(),
                ..row
            },
        });
        let summary = UsageSummary {
            month: "2026-12".into(),
            spent_usd: 1.5,
            budget_usd: Some(2.0),
            percent_used: Some(75.0),
            projected_usd: 3.1,
            reset_at: "2027-01-01T00:00:00Z".into(),
            calls: 40,
            input_tokens: 50_000,
            output_tokens: 2_000,
            unpriced_calls: 1,
        };
        reads_as_derived(&summary);
        reads_as_derived(&UsageSummary {
            budget_usd: None,
            percent_used: None,
            ..summary
        });
        reads_as_derived(&CostEstimate {
            provider: "builtin".into(),
            model: "analyst".into(),
            input_per_m: 0.0,
            output_per_m: 0.0,
            unpriced: false,
            prompt_tokens: 0,
            max_output_tokens: 0,
        });
    }

    #[test]
    fn members_left_out_by_the_server_take_serdes_defaults() {
        let sparse = json!({"id": "d1", "name": "n", "version": "v", "row_count": 1, "column_count": 1,
                            "size_bytes": 1, "created_at": "t"});
        let read = DatasetSummary::from_json(&sparse).unwrap();
        assert_eq!(read, serde_json::from_value::<DatasetSummary>(sparse).unwrap());
        assert!(!read.privacy && !read.builtin);
    }

    #[test]
    fn every_wire_word_reads_back_as_its_variant() {
        fn each<T: FromJson + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(all: &[T]) {
            all.iter().for_each(reads_as_derived);
        }
        use Confidence as C;
        each(&[C::High, C::Medium, C::Low]);
        use ChartType as T;
        each(&[T::Bar, T::Line, T::Pie, T::Scatter, T::Table]);
        use Phase as P;
        each(&[
            P::Analyzing,
            P::Planning,
            P::Querying,
            P::CallingModel,
            P::Writing,
        ]);
        use ErrorCode as E;
        each(&[
            E::BadRequest,
            E::Unauthorized,
            E::Forbidden,
            E::NotFound,
            E::MethodNotAllowed,
            E::PayloadTooLarge,
            E::RateLimited,
            E::ProviderError,
            E::ProvidersUnavailable,
            E::InvalidCsv,
            E::Cancelled,
            E::Internal,
        ]);
        each(&[
            NodeKind::Request,
            NodeKind::Step,
            NodeKind::LlmCall,
            NodeKind::Query,
        ]);
        each(&[NodeStatus::Running, NodeStatus::Done, NodeStatus::Failed]);
        use FailureClass as F;
        each(&[
            F::Connect,
            F::FirstTokenTimeout,
            F::Stall,
            F::RateLimited,
            F::ServerError,
            F::Overloaded,
            F::Auth,
            F::BadRequest,
            F::Malformed,
            F::StreamError,
            F::TooLong,
        ]);
        use ColumnType as K;
        each(&[K::Integer, K::Float, K::Boolean, K::Date, K::Datetime, K::Text]);
    }

    #[test]
    fn a_malformed_document_names_where_it_went_wrong() {
        let err = |v: Value| StreamEvent::from_json(&v).unwrap_err().to_string();
        assert_eq!(
            err(json!({"type": "telepathy", "data": {}})),
            "unexpected JSON at `type`"
        );
        assert_eq!(
            err(json!({"type": "content", "data": {}})),
            "unexpected JSON at `data.content`"
        );
        assert_eq!(err(json!({"type": "content"})), "unexpected JSON at `data`");
        assert_eq!(
            err(json!({"type": "status", "data": {"status": "dreaming", "message": "…"}})),
            "unexpected JSON at `data.status`"
        );
        let mut wire = serde_json::to_value(StreamEvent::TreeUpdate {
            execution_tree: Box::new(tree()),
        })
        .unwrap();
        wire["data"]["execution_tree"]["root"]["children"][0]["started_ms"] = json!(-1);
        assert_eq!(
            err(wire),
            "unexpected JSON at `data.execution_tree.root.children.0.started_ms`"
        );
        assert!(u64::from_json(&json!(1.5)).is_err());
        assert!(u32::from_json(&json!(5_000_000_000u64)).is_err());
        assert!(String::from_json(&json!(null)).is_err());
    }
}
