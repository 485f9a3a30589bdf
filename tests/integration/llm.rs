//! The LLM path through real `wrangler dev`, against the mock provider speaking OpenAI's and Anthropic's
//! streaming formats: JSON answers stream as text before the JSON closes, empty answers are repaired,
//! charts are filled from the data, and every call is logged with its usage and cost.

use std::sync::Arc;

use datasage_shared::api::{ChatAnswer, Confidence, ErrorCode, StreamEvent};
use datasage_shared::tokens;
use datasage_shared::tree::TreeNode;
use datasage_tests::client::{fresh_user, shown_text, token_for, Api, Timed};
use datasage_tests::mock_provider::{self, DEFAULT_ANSWER, PACED_WORDS, PROMPT_TOKENS, TRICKY_ANSWER};
use serde_json::json;

use super::{
    ask, chat_body, complete_of, content_of, logged_calls, Ctx, CLAUDE_KEY, CLAUDE_MODEL, MOCK_KEY,
    MOCK_MODEL,
};

/// Both provider formats, for tests that must hold for each.
fn both(c: &Ctx) -> [(&'static str, &Api); 2] {
    [("openai", &c.llm), ("anthropic", &c.claude)]
}

/// The first node of the tree under `node` for which `pred` holds.
pub fn find<'a>(node: &'a TreeNode, pred: &dyn Fn(&TreeNode) -> bool) -> Option<&'a TreeNode> {
    if pred(node) {
        return Some(node);
    }
    node.children.iter().find_map(|c| find(c, pred))
}

pub async fn json_answers_stream_their_text_before_the_json_closes(c: Arc<Ctx>) {
    for (format, api) in both(&c) {
        let user = fresh_user("paced");
        let events = ask(api, &user, "Summarize [mock:paced]").await;
        let first = events
            .iter()
            .find(|t| matches!(t.event, StreamEvent::Content { .. }))
            .expect("content")
            .at;
        let done = events.last().expect("events").at;
        let producing = mock_provider::PACED_DELAY * (PACED_WORDS as u32 + 1);
        // The JSON closes only after the last word; the first words must reach us long before that.
        assert!(
            done >= producing,
            "{format}: ended before the model finished: {done:?}"
        );
        assert!(
            done - first > producing / 2,
            "{format}: first content at {first:?}, end at {done:?}"
        );
        let expected: String = (1..=PACED_WORDS).map(|i| format!("word{i} ")).collect();
        assert_eq!(
            content_of(&events),
            expected,
            "{format}: only the decoded text is streamed, no JSON"
        );
        let answer = complete_of(&events);
        assert_eq!(answer.message, expected);
        assert_eq!(answer.confidence, Confidence::High);
    }
}

pub async fn provider_requests_follow_each_protocol(c: Arc<Ctx>) {
    let user = fresh_user("req");
    ask(&c.llm, &user, &format!("Total revenue? {user}")).await;
    let reqs = c.mock.requests_containing(&user);
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {MOCK_KEY}").as_str())
    );
    assert_eq!(r.body["model"], MOCK_MODEL);
    assert_eq!(r.body["stream"], true);
    assert_eq!(r.body["stream_options"]["include_usage"], true);
    assert!(r.body["temperature"].is_number() && r.body["max_tokens"].is_number());
    let messages = r.body["messages"].as_array().expect("messages");
    assert_eq!(messages[0]["role"], "system");
    assert!(messages[0]["content"]
        .as_str()
        .is_some_and(|s| s.contains("`revenue`") && s.contains("response_text")));
    assert!(messages
        .last()
        .and_then(|m| m["content"].as_str())
        .is_some_and(|q| q.starts_with("<question>")));

    let user = fresh_user("req-claude");
    ask(&c.claude, &user, &format!("Total revenue? {user}")).await;
    let reqs = c.mock.requests_containing(&user);
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.header("x-api-key"), Some(CLAUDE_KEY));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        r.header("authorization"),
        None,
        "Anthropic takes its key in x-api-key only"
    );
    assert_eq!(r.body["model"], CLAUDE_MODEL);
    assert!(
        r.body["system"].as_str().is_some_and(|s| s.contains("`revenue`")),
        "system prompt sent separately"
    );
    assert!(r.body["messages"]
        .as_array()
        .is_some_and(|ms| ms.iter().all(|m| m["role"] != "system")));
    assert!(r.body["max_tokens"].is_number() && r.body["temperature"].is_number());
}

pub async fn escapes_and_emoji_in_the_json_arrive_decoded(c: Arc<Ctx>) {
    for (format, api) in both(&c) {
        let user = fresh_user("tricky");
        let events = ask(api, &user, "hi [mock:answer=tricky]").await;
        assert_eq!(content_of(&events), TRICKY_ANSWER, "{format}");
        assert_eq!(complete_of(&events).message, TRICKY_ANSWER, "{format}");
    }
}

pub async fn an_empty_answer_is_repaired_by_asking_again(c: Arc<Ctx>) {
    for (format, api) in both(&c) {
        let user = fresh_user("repair");
        let token = token_for(&user);
        let events = ask(api, &user, &format!("Totals? [mock:answer=empty] {user}")).await;
        let answer = complete_of(&events);
        assert_eq!(answer.message, DEFAULT_ANSWER, "{format}");
        assert_eq!(
            content_of(&events),
            DEFAULT_ANSWER,
            "{format}: no blank or duplicated text streamed"
        );
        let calls = logged_calls(api, &token, &user, |calls| calls.len() == 2).await;
        assert_eq!(
            (&calls[0]["call_type"], &calls[0]["status"]),
            (&json!("plan"), &json!("empty")),
            "{format}"
        );
        assert_eq!(
            (&calls[1]["call_type"], &calls[1]["status"]),
            (&json!("repair"), &json!("ok")),
            "{format}"
        );
        let reqs = c.mock.requests_containing(&user);
        assert!(
            reqs[1].question().contains("empty or missing"),
            "{format}: the re-ask says what was wrong"
        );
        assert_eq!(
            answer.metadata.usage.prompt_tokens,
            2 * PROMPT_TOKENS,
            "{format}: both calls counted"
        );
    }
}

pub async fn twice_empty_answers_end_in_a_clear_error_not_a_blank_bubble(c: Arc<Ctx>) {
    let user = fresh_user("empty");
    let events = ask(&c.llm, &user, "x [mock:answer=empty-always]").await;
    match events.last().map(|t| &t.event) {
        Some(StreamEvent::Error(e)) => {
            assert_eq!(e.code, ErrorCode::ProviderError);
            assert!(e.message.contains("empty answer twice"), "{}", e.message);
        }
        other => panic!("expected an error event, got {other:?}"),
    }
}

pub async fn a_prose_reply_becomes_a_low_confidence_answer(c: Arc<Ctx>) {
    let user = fresh_user("prose");
    let events = ask(&c.llm, &user, "x [mock:answer=prose]").await;
    let answer = complete_of(&events);
    assert_eq!(answer.message, "The total is 12.");
    assert_eq!(answer.confidence, Confidence::Low);
    assert_eq!(
        content_of(&events),
        "The total is 12.",
        "the fallback text is streamed too"
    );
}

pub async fn malformed_json_keeps_its_text_at_low_confidence(c: Arc<Ctx>) {
    let user = fresh_user("malformed");
    let events = ask(&c.llm, &user, "x [mock:answer=malformed]").await;
    let answer = complete_of(&events);
    assert_eq!(answer.message, "Partial answer");
    assert_eq!(answer.confidence, Confidence::Low);
}

pub async fn recorded_streams_replayed_through_the_worker_become_answers(c: Arc<Ctx>) {
    // Real recordings are prose, not our JSON: after one re-ask the prose is the low-confidence answer.
    let cases = [
        (
            &c.llm,
            "openai/text_with_usage",
            "I'm unable to provide real-time weather updates.",
            (14, 30),
        ),
        (
            &c.claude,
            "anthropic/text_multi_delta",
            "The sky is blue because sunlight scatters",
            (19, 34),
        ),
    ];
    for (api, fixture, starts, (input, output)) in cases {
        let user = fresh_user("fixture");
        let body = chat_body(&format!("q [mock:fixture={fixture}] [mock:pace=2]"), &user);
        let answer = complete_of(&api.stream(&token_for(&user), &body, |_| false).await).clone();
        assert!(
            answer.message.starts_with(starts),
            "{fixture}: {}",
            answer.message
        );
        assert_eq!(answer.confidence, Confidence::Low);
        let usage = answer.metadata.usage;
        assert_eq!(
            (usage.prompt_tokens, usage.completion_tokens),
            (2 * input, 2 * output),
            "{fixture}"
        );
    }
}

pub async fn calls_are_logged_with_usage_and_cost(c: Arc<Ctx>) {
    let user = fresh_user("log");
    let token = token_for(&user);
    let events = c
        .llm
        .stream(&token, &chat_body("Give me the headline numbers", &user), |_| {
            false
        })
        .await;
    let answer: ChatAnswer = complete_of(&events).clone();
    let calls = logged_calls(&c.llm, &token, &user, |calls| !calls.is_empty()).await;
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        (&call["provider"], &call["model"]),
        (&json!("openai"), &json!(MOCK_MODEL))
    );
    assert_eq!(
        (&call["call_type"], &call["status"]),
        (&json!("plan"), &json!("ok")),
        "answered from the profile, in the first call"
    );
    assert_eq!(call["session_id"], user);
    assert_eq!(call["usage_source"], "reported");
    assert_eq!(call["prompt_tokens"], PROMPT_TOKENS);
    let completion = call["completion_tokens"].as_u64().unwrap_or(0);
    assert!(completion > 0);
    assert_eq!(call["total_tokens"], PROMPT_TOKENS + completion);
    // gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output tokens.
    let expected = (PROMPT_TOKENS as f64 * 0.15 + completion as f64 * 0.60) / 1e6;
    let logged = call["cost_usd"].as_f64().expect("cost logged");
    assert!((logged - expected).abs() < 1e-12, "{logged} vs {expected}");
    assert!((answer.metadata.cost_usd.expect("cost in metadata") - expected).abs() < 1e-12);
    assert!(call["response_excerpt"]
        .as_str()
        .is_some_and(|r| r.contains(DEFAULT_ANSWER)));
    assert!(call["prompt_excerpt"]
        .as_str()
        .is_some_and(|p| p.contains("Give me the headline numbers")));

    // A long question is kept as an excerpt of at most 1,000 characters.
    let long = "how much revenue? ".repeat(200);
    ask(&c.llm, &user, &long).await;
    let calls = logged_calls(&c.llm, &token, &user, |calls| calls.len() == 2).await;
    let excerpt = calls[1]["prompt_excerpt"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .count();
    assert!(excerpt <= 1000 && excerpt > 900, "excerpt of {excerpt} chars");
}

pub async fn the_next_question_carries_the_conversation_so_far(c: Arc<Ctx>) {
    let user = fresh_user("history");
    let token = token_for(&user);
    let first = format!("Which region leads? {user}");
    complete_of(&ask(&c.claude, &user, &first).await);
    logged_calls(&c.claude, &token, &user, |calls| calls.len() == 1).await; // the turn is stored
    complete_of(&ask(&c.claude, &user, "And the runner-up?").await);
    let reqs = c.mock.requests_containing(&user);
    let second = reqs.last().expect("second request");
    let messages = second.body["messages"].as_array().expect("messages");
    assert_eq!(
        messages.len(),
        3,
        "earlier question, earlier answer, new question"
    );
    assert!(messages[0]["content"]
        .as_str()
        .is_some_and(|q| q.contains(&first)));
    assert!(messages[1]["content"]
        .as_str()
        .is_some_and(|a| a.contains("West leads revenue")));
    assert_eq!(messages[1]["role"], "assistant");
    assert!(messages[2]["content"]
        .as_str()
        .is_some_and(|q| q.contains("And the runner-up?")));
}

/// Regenerate and "edit and resend": the rewound question is asked without the exchanges it replaces, and
/// once its answer is stored the conversation holds it in their place.
pub async fn an_edited_question_replaces_the_exchanges_after_it(c: Arc<Ctx>) {
    let user = fresh_user("rewind");
    let token = token_for(&user);
    for (i, q) in ["first question", "second question", "third question"]
        .into_iter()
        .enumerate()
    {
        complete_of(&ask(&c.claude, &user, &format!("{q} {user}")).await);
        logged_calls(&c.claude, &token, &user, |calls| calls.len() == i + 1).await;
    }
    let mut body = chat_body(&format!("second question, edited {user}"), &user);
    body["rewind_to"] = json!(1);
    complete_of(&c.claude.stream(&token, &body, |_| false).await);

    let prompt = c
        .mock
        .requests_containing(&user)
        .last()
        .expect("the edited request")
        .body
        .clone();
    let said: Vec<&str> = prompt["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        said.len(),
        3,
        "first exchange, then the edited question: {said:?}"
    );
    assert!(said[0].contains("first question") && said[2].contains("second question, edited"));
    assert!(!said.iter().any(|m| m.contains("third question")), "{said:?}");

    logged_calls(&c.claude, &token, &user, |calls| calls.len() == 4).await;
    let (status, detail) = c
        .claude
        .get(&format!("/api/v1/sessions/{user}"), Some(&token))
        .await;
    assert_eq!(status, 200, "{detail}");
    let stored: Vec<(String, bool)> = detail["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            let content = m["content"].as_str().unwrap_or_default();
            (
                content.split(" test-").next().unwrap_or_default().to_owned(),
                m["role"] == "user",
            )
        })
        .collect();
    let questions: Vec<&str> = stored
        .iter()
        .filter(|(_, q)| *q)
        .map(|(c, _)| c.as_str())
        .collect();
    assert_eq!(questions, ["first question", "second question, edited"]);
    assert_eq!(stored.len(), 4, "each question keeps its one answer: {stored:?}");
}

const TOP_PRODUCTS_SQL: &str =
    "SELECT \"product\", ROUND(SUM(\"revenue\"), 2) AS revenue FROM data GROUP BY 1 ORDER BY 2 DESC LIMIT 5";

pub async fn the_model_plans_sql_and_answers_from_the_results_with_a_chart_of_them(c: Arc<Ctx>) {
    for (format, api) in both(&c) {
        let user = fresh_user("plan");
        let token = token_for(&user);
        let question =
            format!("Top 5 products by revenue? [mock:sql={TOP_PRODUCTS_SQL}][mock:chart=product,revenue]");
        let events = ask(api, &user, &question).await;
        let answer = complete_of(&events);
        let expected = super::datasets::sample_top_products();
        for (product, revenue) in &expected {
            let shown = super::datasets::cell_after(&answer.message, product);
            assert!(
                shown.is_some_and(|v| (v - revenue).abs() < 0.006),
                "{format}: the model saw the exact results for {product}: {}",
                answer.message
            );
        }
        let chart = answer.chart_config.as_ref().expect("a chart");
        assert_eq!(
            chart.data.len(),
            5,
            "{format}: the query's rows, not the model's made-up row"
        );
        for (row, (product, revenue)) in chart.data.iter().zip(&expected) {
            assert_eq!(row["product"], json!(product));
            assert!((row["revenue"].as_f64().unwrap_or(0.0) - revenue).abs() < 0.006);
        }
        let query = find(&answer.metadata.execution_tree.root, &|n| n.query.is_some()).expect("a query node");
        let info = query.query.as_ref().expect("query info");
        assert!(info.sql.contains("SUM(\"revenue\")"), "{format}: {}", info.sql);
        assert_eq!(info.rows, Some(5));
        assert!(query
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("5 rows in ")));
        let statuses = statuses_of(&events);
        for step in ["Planning query…", "Running SQL…", "Writing answer…"] {
            assert!(
                statuses.iter().any(|s| s == step),
                "{format}: {step} in {statuses:?}"
            );
        }
        assert_eq!(
            answer.metadata.dataset.as_ref().map(|d| d.id.as_str()),
            Some("sample")
        );
        let calls = logged_calls(api, &token, &user, |calls| calls.len() == 2).await;
        let types: Vec<&str> = calls.iter().filter_map(|c| c["call_type"].as_str()).collect();
        assert_eq!(
            types,
            ["plan", "answer"],
            "{format}: every call of the plan logged"
        );
    }
}

pub async fn a_refused_query_goes_back_once_for_correction(c: Arc<Ctx>) {
    let user = fresh_user("fix");
    let token = token_for(&user);
    let question =
        format!("How many rows? [mock:sql=DELETE FROM data][mock:fix=SELECT COUNT(*) AS n FROM data] {user}");
    let answer = complete_of(&ask(&c.llm, &user, &question).await).clone();
    assert!(answer.message.contains("| 3000 |"), "{}", answer.message);
    let calls = logged_calls(&c.llm, &token, &user, |calls| calls.len() == 3).await;
    let types: Vec<&str> = calls.iter().filter_map(|c| c["call_type"].as_str()).collect();
    assert_eq!(types, ["plan", "correction", "answer"]);
    let reqs = c.mock.requests_containing(&user);
    assert!(
        reqs[1].question().contains("FAILED: query rejected"),
        "the model is told why: {}",
        reqs[1].question()
    );
    let refused = find(&answer.metadata.execution_tree.root, &|n| {
        n.query.as_ref().is_some_and(|q| q.sql.contains("DELETE"))
    })
    .expect("the refused query is in the tree");
    assert_eq!(refused.status, datasage_shared::tree::NodeStatus::Failed);
    assert!(refused.detail.as_deref().is_some_and(|d| d.contains("rejected")));
}

pub async fn query_rounds_are_bounded(c: Arc<Ctx>) {
    let user = fresh_user("rounds");
    let events = ask(
        &c.llm,
        &user,
        &format!("Loop [mock:sql-always=SELECT 1 AS one FROM data] {user}"),
    )
    .await;
    match events.last().map(|t| &t.event) {
        Some(StreamEvent::Error(e)) => {
            assert_eq!(e.code, ErrorCode::ProviderError);
            assert!(e.message.contains("within 3 rounds"), "{}", e.message);
        }
        other => panic!("expected an error event, got {other:?}"),
    }
    let reqs = c.mock.requests_containing(&user);
    assert_eq!(
        reqs.len(),
        5,
        "plan, 3 rounds of results, one re-ask — then it stops"
    );
    assert!(reqs[3].question().contains("No more queries can run"));
}

pub async fn a_disconnected_client_still_gets_its_call_logged(c: Arc<Ctx>) {
    let user = fresh_user("gone");
    let token = token_for(&user);
    let body = chat_body("Long answer please [mock:paced]", &user);
    let events = c
        .llm
        .stream(&token, &body, |e| matches!(e, StreamEvent::Content { .. }))
        .await;
    assert!(matches!(
        events.last().map(|t| &t.event),
        Some(StreamEvent::Content { .. })
    ));
    let calls = logged_calls(&c.llm, &token, &user, |calls| !calls.is_empty()).await;
    assert_eq!(calls[0]["status"], "cancelled", "{:?}", calls[0]);
    let partial = calls[0]["response_excerpt"].as_str().unwrap_or_default();
    assert!(
        partial.contains("word1 ") && !partial.contains(&format!("word{PACED_WORDS} ")),
        "{partial}"
    );
}

pub async fn when_the_only_provider_fails_the_builtin_analyst_answers_and_says_why(c: Arc<Ctx>) {
    for (format, api) in both(&c) {
        let label = if format == "openai" { "OpenAI" } else { "Anthropic" };
        for (marker, words) in [
            ("[mock:status=500]", "had a server error"),
            ("[mock:cut]", "sent a broken answer"),
        ] {
            let user = fresh_user("fail");
            let token = token_for(&user);
            let events = ask(api, &user, &format!("How many rows are there? {marker}")).await;
            let answer = complete_of(&events);
            assert_eq!(answer.metadata.provider, "builtin", "{format} {marker}");
            assert!(
                answer.message.contains("**3,000 rows**"),
                "{format} {marker}: {}",
                answer.message
            );
            assert_eq!(
                content_of_after_discard(&events),
                answer.message,
                "{format} {marker}: no spliced text"
            );
            let said = format!("{label} {words} — the built-in analyst will answer");
            assert!(
                events
                    .iter()
                    .any(|t| matches!(&t.event, StreamEvent::Status { message, .. } if *message == said)),
                "{format} {marker}: status `{said}`"
            );
            let calls = logged_calls(api, &token, &user, |calls| calls.len() == 4).await;
            let statuses: Vec<&str> = calls.iter().filter_map(|c| c["status"].as_str()).collect();
            assert_eq!(
                statuses,
                ["error", "error", "error", "ok"],
                "{format} {marker}: three attempts, then builtin"
            );
        }
    }
}

/// The status lines of a stream, in order.
pub fn statuses_of(events: &[Timed]) -> Vec<String> {
    events
        .iter()
        .filter_map(|t| match &t.event {
            StreamEvent::Status { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// The answer text as the client keeps it: content after the last `discard`.
pub fn content_of_after_discard(events: &[Timed]) -> String {
    shown_text(events.iter().map(|t| &t.event))
}

pub async fn usage_is_estimated_when_the_provider_reports_none(c: Arc<Ctx>) {
    let user = fresh_user("nousage");
    let token = token_for(&user);
    let body = chat_body(&format!("hi [mock:fixture=openai/text_no_usage] {user}"), &user);
    complete_of(&c.llm.stream(&token, &body, |_| false).await);
    let calls = logged_calls(&c.llm, &token, &user, |calls| calls.len() == 2).await;
    let reqs = c.mock.requests_containing(&user);
    for (call, req) in calls.iter().zip(&reqs) {
        assert_eq!(call["usage_source"], "estimated");
        let prompt: usize = req.body["messages"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| tokens::estimate(m["content"].as_str().unwrap_or_default()))
                    .sum()
            })
            .unwrap_or(0);
        assert_eq!(
            call["prompt_tokens"], prompt as u64,
            "the whole prompt, estimated"
        );
        let text = call["response_excerpt"].as_str().unwrap_or_default();
        assert_eq!(
            call["completion_tokens"],
            tokens::estimate(text) as u64,
            "the whole answer, estimated"
        );
        assert!(
            call["cost_usd"].as_f64().is_some_and(|c| c > 0.0),
            "estimated usage is still priced"
        );
    }
}
