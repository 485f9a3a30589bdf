//! Integration tests against real `wrangler dev` instances (workerd, local D1 and Durable Objects):
//! one with no provider key (the built-in analyst, as a fresh `make dev` runs), one pointed at the mock
//! OpenAI-compatible provider. Each test uses its own users and sessions, so tests run concurrently.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use datasage_shared::api::{ChatAnswer, StreamEvent};
use datasage_shared::jwt::{self, Claims};
use datasage_tests::client::{admin_token_for, fresh_user, token_for, unix_now, Api, Timed};
use datasage_tests::mock_provider::MockProvider;
use datasage_tests::wrangler::{WorkerInstance, TEST_JWT_SECRET};
use libtest_mimic::{Arguments, Failed, Trial};

mod budget;
mod datasets;
mod hardening;
mod hub;
mod isolation;
mod llm;
mod routing;
mod usage;

use budget::*;
use datasets::*;
use hardening::*;
use hub::*;
use isolation::*;
use llm::*;
use routing::*;
use serde_json::{json, Value};
use tokio::runtime::Runtime;
use usage::*;

const MOCK_MODEL: &str = "gpt-4o-mini";
/// Instances many tests share never open a circuit: one test's injected failures must not skip the
/// provider for the others (the breaker has its own instance and test).
const SHARED_BREAKER: &str = "1000000";
const MOCK_KEY: &str = "sk-test-mock-key";
const CLAUDE_MODEL: &str = "claude-sonnet-4-5";
const CLAUDE_KEY: &str = "sk-ant-test-mock-key";

type TestFuture = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

struct Ctx {
    /// No key: answers come from the built-in analyst. Dev tokens on.
    builtin: Api,
    /// Points at the mock provider as OpenAI. Dev tokens off (production-like).
    llm: Api,
    /// Points at the mock provider as Anthropic.
    claude: Api,
    /// OpenAI then Anthropic, both the mock, no built-in fallback; fast timeouts and retries, and a breaker
    /// that never opens — for the fault matrix.
    routing: Api,
    /// OpenAI, Anthropic, built-in; one attempt per provider, a breaker of 3 failures and 2 s.
    breaker: Api,
    /// Like `routing`, with OpenAI at an address nothing listens on.
    unreachable: Api,
    /// Like `routing`, for the test whose OpenAI key is refused (which marks the provider misconfigured).
    auth: Api,
    /// The mock as OpenAI alone, with fault injection and tight bounds: an answer of 3 s or 20,000 bytes at
    /// most, a stored answer of 4,000 bytes.
    hardening: Api,
    /// The built-in analyst with fault injection, for the test that panics the worker (which ends every
    /// request in flight on that instance, so it has one of its own).
    panicky: Api,
    /// The mock as OpenAI, for the live hub: a heartbeat window of 3 s.
    hub: Api,
    /// OpenAI then Anthropic (the mock), one attempt each, for usage and budgets; its D1 is seeded with
    /// `SEEDED_CALLS` calls of `SEEDED_USER` before it starts.
    usage: Api,
    /// OpenAI (the mock, priced dear by `BUDGET_PRICES`) then the built-in analyst, a monthly budget of
    /// `BUDGET_USD`, and fault injection (for the clock).
    budget: Api,
    mock: MockProvider,
    /// The instances behind the APIs above, in that order.
    instances: Vec<WorkerInstance>,
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let rt = Arc::new(Runtime::new().expect("tokio runtime"));
    let ctx = match rt.block_on(start()) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("could not start the test environment: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut trials = Vec::new();
    let mut add = |name: &'static str, f: fn(Arc<Ctx>) -> TestFuture| {
        let (rt, ctx) = (rt.clone(), ctx.clone());
        trials.push(Trial::test(name, move || {
            rt.block_on(f(ctx));
            Ok::<(), Failed>(())
        }));
    };
    macro_rules! tests {
        ($($name:ident),* $(,)?) => { $( add(stringify!($name), |c| Box::pin($name(c))); )* };
    }
    tests!(
        health_lists_the_providers_in_use,
        how_many_rows_streams_status_then_the_exact_answer,
        every_event_of_a_streamed_answer_is_numbered_in_order_under_its_own_stream_id,
        every_route_but_health_and_dev_tokens_refuses_a_request_without_a_token,
        json_answers_stream_their_text_before_the_json_closes,
        provider_requests_follow_each_protocol,
        escapes_and_emoji_in_the_json_arrive_decoded,
        an_empty_answer_is_repaired_by_asking_again,
        twice_empty_answers_end_in_a_clear_error_not_a_blank_bubble,
        a_prose_reply_becomes_a_low_confidence_answer,
        malformed_json_keeps_its_text_at_low_confidence,
        recorded_streams_replayed_through_the_worker_become_answers,
        calls_are_logged_with_usage_and_cost,
        the_next_question_carries_the_conversation_so_far,
        an_edited_question_replaces_the_exchanges_after_it,
        the_model_plans_sql_and_answers_from_the_results_with_a_chart_of_them,
        a_refused_query_goes_back_once_for_correction,
        query_rounds_are_bounded,
        the_builtin_analyst_answers_on_an_upload_with_its_sql_in_the_tree,
        the_builtin_analyst_filters_reads_slash_dates_computes_shares_and_refuses_the_rest,
        corpus_questions_are_answered_end_to_end_with_their_sql_in_the_tree,
        chat_over_another_users_dataset_is_not_found,
        privacy_mode_keeps_rows_out_of_prompts_and_logs,
        the_sample_is_listed_for_everyone_and_cannot_be_deleted,
        every_awkward_csv_uploads_as_the_corpus_expects,
        a_form_upload_streams_its_file_part_with_its_fields,
        every_attack_in_the_corpus_leaks_nothing_and_ends_cleanly,
        another_user_reaches_nothing_of_the_first_users_data_through_chat,
        a_dataset_object_holds_that_dataset_and_nothing_else,
        a_query_whose_cost_grows_faster_than_the_table_is_refused_before_it_runs,
        uploads_wider_than_storage_allows_are_refused_as_invalid_csv,
        every_failure_class_ends_in_one_clean_answer_from_the_next_provider,
        a_mid_stream_failure_is_discarded_and_never_spliced_into_the_answer,
        retry_after_is_honoured_before_retrying,
        when_every_provider_fails_the_error_is_clear,
        a_refused_key_marks_the_provider_misconfigured_and_it_is_skipped,
        the_breaker_opens_at_the_threshold_probes_when_half_open_and_closes,
        a_disconnect_aborts_the_upstream_call,
        an_open_circuit_survives_a_restart,
        conversations_are_listed_restored_whole_renamed_and_deleted,
        a_disconnected_client_still_gets_its_call_logged,
        when_the_only_provider_fails_the_builtin_analyst_answers_and_says_why,
        usage_is_estimated_when_the_provider_reports_none,
        an_upload_lands_whole_with_profile_preview_and_delete,
        the_sample_uploaded_profiles_like_an_independent_computation,
        bad_uploads_are_refused_with_a_code_and_line_and_store_nothing,
        another_users_dataset_does_not_exist_for_them,
        non_streaming_chat_returns_the_same_answer_shape,
        the_21st_request_in_a_minute_is_rate_limited_before_the_provider,
        concurrent_requests_admit_exactly_the_limit,
        bad_tokens_are_rejected_with_401,
        malformed_bodies_are_rejected_with_400_and_a_code,
        dev_tokens_work_only_where_enabled,
        call_logs_are_visible_only_to_the_session_owner,
        another_users_session_cannot_be_written_to,
        unknown_routes_and_methods_answer_json_errors,
        an_answer_that_never_ends_is_cut_at_its_time_bound_and_logged_too_long,
        an_answer_past_its_byte_bound_is_cut_and_logged_too_long,
        a_line_that_never_ends_fails_as_a_malformed_stream_not_a_timeout,
        a_huge_provider_error_body_is_kept_only_as_a_short_excerpt,
        a_chart_of_huge_cells_stays_small_and_says_what_was_cut,
        a_panic_mid_answer_ends_the_stream_with_an_error_and_logs_the_question,
        an_answer_too_big_to_store_is_saved_shortened_and_the_stream_says_so,
        when_storing_fails_it_retries_then_degrades_and_counts,
        awkward_column_names_are_refused_as_invalid_csv_with_the_line,
        oversized_forms_offsets_and_headers_get_clear_errors,
        three_tabs_of_one_user_get_the_same_numbered_answer_asked_in_one,
        a_stop_from_another_tab_aborts_the_provider_call_upstream_and_every_tab_sees_it,
        a_rename_or_delete_in_one_tab_reaches_the_users_other_tabs,
        closing_the_tab_that_asked_does_not_stop_the_answer,
        a_tab_that_reconnects_mid_answer_resumes_with_nothing_duplicated_or_missing,
        a_tab_back_after_the_answer_was_stored_is_sent_to_the_stored_conversation,
        a_tab_gone_without_a_close_frame_stops_counting_within_the_heartbeat_window,
        tickets_are_single_use_short_lived_signed_and_bound_to_the_origin,
        a_socket_is_closed_with_4001_when_its_sign_in_expires,
        twenty_five_questions_across_three_tabs_and_http_admit_exactly_twenty,
        another_users_socket_never_sees_the_first_users_events_nor_reaches_their_answers,
        sse_answers_go_through_the_hub_to_the_users_tabs,
        frames_the_hub_cannot_read_get_an_error_with_a_code,
        an_answer_cut_off_by_a_hub_restart_ends_with_an_error_not_a_spinner,
        every_usage_grouping_adds_up_to_the_call_log_to_the_cent,
        one_persons_usage_is_invisible_to_another_and_only_admins_see_everyone,
        bad_usage_parameters_are_refused_with_a_stable_reason,
        a_deleted_conversation_stays_spent_but_keeps_none_of_its_words,
        ten_thousand_calls_export_as_csv_and_parse_back_equal,
        a_questions_cost_is_estimated_before_it_is_asked_from_the_models_price,
        questions_at_once_from_three_connections_never_spend_past_the_budget,
        a_spent_budget_hands_questions_to_the_builtin_analyst_or_refuses_them_with_a_code,
    );
    let conclusion = libtest_mimic::run(&args, trials);
    drop(ctx); // stops the wrangler instances
    conclusion.exit_code()
}

async fn start() -> std::io::Result<Ctx> {
    let mock = MockProvider::start().await?;
    // Every instance names every provider key, so a developer's .dev.vars cannot leak into the tests.
    let no_keys = [
        ("OPENROUTER_API_KEY", ""),
        ("ANTHROPIC_API_KEY", ""),
        ("OPENAI_API_KEY", ""),
    ];
    let start = |name: &'static str, vars: Vec<(&'static str, String)>| {
        tokio::task::spawn_blocking(move || {
            let mut all: Vec<(&str, String)> = vec![
                ("JWT_SECRET", TEST_JWT_SECRET.into()),
                ("RATE_LIMIT_PER_MINUTE", "20".into()),
            ];
            all.extend(
                no_keys
                    .iter()
                    .filter(|(k, _)| !vars.iter().any(|(v, _)| v == k))
                    .map(|(k, v)| (*k, v.to_string())),
            );
            all.extend(vars);
            // The last value of a name wins.
            let mut refs: Vec<(&str, &str)> = Vec::new();
            for (k, v) in all.iter().rev() {
                if !refs.iter().any(|(seen, _)| seen == k) {
                    refs.push((k, v.as_str()));
                }
            }
            WorkerInstance::start(name, &refs)
        })
    };
    let both = |order: &str, openai_url: String| {
        vec![
            ("DEV_AUTH", "false".into()),
            ("PROVIDER_ORDER", order.to_owned()),
            ("OPENAI_API_KEY", MOCK_KEY.into()),
            ("OPENAI_BASE_URL", openai_url),
            ("OPENAI_MODEL", MOCK_MODEL.into()),
            ("ANTHROPIC_API_KEY", CLAUDE_KEY.into()),
            ("ANTHROPIC_BASE_URL", mock.anthropic_base_url()),
            ("ANTHROPIC_MODEL", CLAUDE_MODEL.into()),
            ("RETRY_MAX_ATTEMPTS", "2".into()),
            ("RETRY_BASE_DELAY_MS", "50".into()),
            ("RETRY_MAX_DELAY_MS", "200".into()),
            ("FIRST_TOKEN_TIMEOUT_MS", "2500".into()),
            ("STALL_TIMEOUT_MS", "1500".into()),
            ("RATE_LIMIT_PER_MINUTE", "1000".into()),
        ]
    };
    // Nothing listens on port 1 of loopback: connecting there fails at once.
    let unreachable_url = "http://127.0.0.1:1/v1".to_owned();
    let mut breaker_vars = both("openai,anthropic,builtin", mock.openai_base_url());
    breaker_vars.extend([
        ("RETRY_MAX_ATTEMPTS", "1".into()),
        ("BREAKER_THRESHOLD", "3".into()),
        ("BREAKER_COOLDOWN_MS", "2000".into()),
    ]);
    let mut hardening_vars = both("openai", mock.openai_base_url());
    hardening_vars.extend([
        ("FAULT_INJECTION", "true".into()),
        ("RETRY_MAX_ATTEMPTS", "1".into()),
        ("BREAKER_THRESHOLD", "1000000".into()),
        // The huge-cells chart answer is ~2,000 events; on a loaded 2-core runner that can take past 3 s.
        ("ANSWER_TIMEOUT_MS", "8000".into()),
        ("MAX_ANSWER_BYTES", "20000".into()),
        ("MAX_STORED_ANSWER_BYTES", "4000".into()),
    ]);
    let mut routing_vars = both("openai,anthropic", mock.openai_base_url());
    routing_vars.push(("BREAKER_THRESHOLD", "1000".into()));
    let mut budget_vars = both("openai,builtin", mock.openai_base_url());
    budget_vars.extend([
        ("RETRY_MAX_ATTEMPTS", "1".into()),
        ("BREAKER_THRESHOLD", SHARED_BREAKER.into()),
        ("MODEL_PRICES", BUDGET_PRICES.into()),
        ("MONTHLY_BUDGET_USD", BUDGET_USD.into()),
        ("FAULT_INJECTION", "true".into()),
    ]);
    let mut usage_vars: Vec<(String, String)> = both("openai,anthropic", mock.openai_base_url())
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    usage_vars.extend([
        ("RETRY_MAX_ATTEMPTS".into(), "1".into()),
        ("BREAKER_THRESHOLD".into(), SHARED_BREAKER.into()),
        ("JWT_SECRET".into(), TEST_JWT_SECRET.into()),
        ("OPENROUTER_API_KEY".into(), String::new()),
    ]);
    let usage = tokio::task::spawn_blocking(move || {
        let vars: Vec<(&str, &str)> = usage_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        WorkerInstance::start_seeded("usage", &vars, |d1| {
            datasage_tests::calls::seed(d1, &seeded_calls()).map_err(std::io::Error::other)
        })
    });
    let started = futures::future::join_all([
        start(
            "builtin",
            vec![
                ("DEV_AUTH", "true".into()),
                ("BUILTIN_CHUNK_DELAY_MS", "5".into()),
            ],
        ),
        start(
            "llm",
            vec![
                ("DEV_AUTH", "false".into()),
                ("BREAKER_THRESHOLD", SHARED_BREAKER.into()),
                ("RETRY_BASE_DELAY_MS", "50".into()),
                ("OPENAI_API_KEY", MOCK_KEY.into()),
                ("OPENAI_BASE_URL", mock.openai_base_url()),
                ("OPENAI_MODEL", MOCK_MODEL.into()),
            ],
        ),
        start(
            "claude",
            vec![
                ("DEV_AUTH", "false".into()),
                ("BREAKER_THRESHOLD", SHARED_BREAKER.into()),
                ("RETRY_BASE_DELAY_MS", "50".into()),
                ("ANTHROPIC_API_KEY", CLAUDE_KEY.into()),
                ("ANTHROPIC_BASE_URL", mock.anthropic_base_url()),
                ("ANTHROPIC_MODEL", CLAUDE_MODEL.into()),
            ],
        ),
        start("routing", routing_vars),
        start("breaker", breaker_vars),
        start("unreachable", both("openai,anthropic", unreachable_url)),
        start("auth", both("openai,anthropic", mock.openai_base_url())),
        start("hardening", hardening_vars),
        start(
            "panicky",
            vec![("DEV_AUTH", "false".into()), ("FAULT_INJECTION", "true".into())],
        ),
        start(
            "hub",
            vec![
                ("DEV_AUTH", "false".into()),
                ("BREAKER_THRESHOLD", SHARED_BREAKER.into()),
                ("OPENAI_API_KEY", MOCK_KEY.into()),
                ("OPENAI_BASE_URL", mock.openai_base_url()),
                ("OPENAI_MODEL", MOCK_MODEL.into()),
                ("WS_HEARTBEAT_WINDOW_MS", "3000".into()),
            ],
        ),
        start("budget", budget_vars),
    ])
    .await;
    let mut instances = Vec::new();
    for s in started {
        instances.push(s??);
    }
    instances.push(usage.await??);
    let api = |i: usize| Api::new(&instances[i].base_url);
    Ok(Ctx {
        builtin: api(0),
        llm: api(1),
        claude: api(2),
        routing: api(3),
        breaker: api(4),
        unreachable: api(5),
        auth: api(6),
        hardening: api(7),
        panicky: api(8),
        hub: api(9),
        budget: api(10),
        usage: api(USAGE_INSTANCE),
        mock,
        instances,
    })
}

/// Asks `question` as `user`, in the session named after the user, and reads the whole stream.
async fn ask(api: &Api, user: &str, question: &str) -> Vec<Timed> {
    api.stream(&token_for(user), &chat_body(question, user), |_| false)
        .await
}

fn chat_body(message: &str, session: &str) -> Value {
    json!({ "message": message, "session_id": session })
}

fn content_of(events: &[Timed]) -> String {
    events
        .iter()
        .filter_map(|t| match &t.event {
            StreamEvent::Content { content } => Some(content.as_str()),
            _ => None,
        })
        .collect()
}

fn complete_of(events: &[Timed]) -> &ChatAnswer {
    match events.last().map(|t| &t.event) {
        Some(StreamEvent::Complete(a)) => a,
        other => panic!("stream did not end with `complete`: {other:?}"),
    }
}

/// Polls the session's call log until `ready` holds (logging happens after the stream, in `wait_until`).
async fn logged_calls(api: &Api, token: &str, session: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..100 {
        let (status, body) = api
            .get(&format!("/api/v1/sessions/{session}/llm-calls"), Some(token))
            .await;
        assert_eq!(status, 200, "{body}");
        let calls = body["calls"].as_array().cloned().unwrap_or_default();
        if ready(&calls) {
            return calls;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the call log of {session} never reached the expected state");
}

async fn health_lists_the_providers_in_use(c: Arc<Ctx>) {
    let (status, body) = c.builtin.get("/health", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert!(body["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert_eq!(body["providers"], json!(["builtin"]));
    let (_, body) = c.llm.get("/health", None).await;
    assert_eq!(body["providers"], json!(["openai", "builtin"]));
    let (_, body) = c.claude.get("/health", None).await;
    assert_eq!(body["providers"], json!(["anthropic", "builtin"]));
}

async fn how_many_rows_streams_status_then_the_exact_answer(c: Arc<Ctx>) {
    let user = fresh_user("rows");
    let events = ask(&c.builtin, &user, "How many rows are there?").await;
    match &events[0].event {
        StreamEvent::Status { message, .. } => assert_eq!(message, "Analyzing query…"),
        other => panic!("first event should be the status, got {other:?}"),
    }
    let streamed = content_of(&events);
    let chunks = events
        .iter()
        .filter(|t| matches!(t.event, StreamEvent::Content { .. }))
        .count();
    assert!(
        chunks > 3,
        "the answer should arrive in several chunks, got {chunks}"
    );
    assert!(events
        .iter()
        .any(|t| matches!(t.event, StreamEvent::TreeUpdate { .. })));
    let answer = complete_of(&events);
    assert_eq!(
        answer.message,
        "The **sample_sales** dataset has **3,000 rows** and 12 columns."
    );
    assert_eq!(
        streamed, answer.message,
        "streamed deltas add up to the final message"
    );
    assert_eq!(answer.metadata.provider, "builtin");
    assert!(!answer.metadata.execution_tree.root.children.is_empty());
}

async fn every_event_of_a_streamed_answer_is_numbered_in_order_under_its_own_stream_id(c: Arc<Ctx>) {
    let user = fresh_user("numbered");
    let first = ask(&c.builtin, &user, "How many rows are there?").await;
    let second = ask(&c.builtin, &user, "What is the total revenue?").await;
    for events in [&first, &second] {
        let seqs: Vec<u64> = events.iter().map(|t| t.seq).collect();
        assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
        assert!(events.iter().all(|t| t.stream_id == events[0].stream_id));
        assert!(events.last().is_some_and(|t| t.event.is_terminal()));
    }
    assert_ne!(
        first[0].stream_id, second[0].stream_id,
        "each answer is its own stream"
    );
}

async fn every_route_but_health_and_dev_tokens_refuses_a_request_without_a_token(c: Arc<Ctx>) {
    use reqwest::Method;
    let routes = [
        (Method::POST, "/api/v1/chat/stream"),
        (Method::POST, "/api/v1/chat"),
        (Method::GET, "/api/v1/chat/metrics"),
        (Method::GET, "/api/v1/sessions"),
        (Method::GET, "/api/v1/sessions/s-1"),
        (Method::GET, "/api/v1/sessions/s-1/llm-calls"),
        (Method::PATCH, "/api/v1/sessions/s-1"),
        (Method::DELETE, "/api/v1/sessions/s-1"),
        (Method::POST, "/api/v1/datasets?name=x.csv"),
        (Method::GET, "/api/v1/datasets"),
        (Method::GET, "/api/v1/datasets/sample"),
        (Method::GET, "/api/v1/datasets/sample/rows"),
        (Method::PATCH, "/api/v1/datasets/sample"),
        (Method::DELETE, "/api/v1/datasets/sample"),
    ];
    for (method, path) in routes {
        let resp = c
            .builtin
            .http
            .request(method.clone(), c.builtin.url(path))
            .body("{}")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or_default();
        assert_eq!(status, 401, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "UNAUTHORIZED", "{method} {path}");
    }
}

async fn non_streaming_chat_returns_the_same_answer_shape(c: Arc<Ctx>) {
    let user = fresh_user("json");
    let (status, _, body) = c
        .builtin
        .chat(&token_for(&user), "Top 3 regions by revenue", &user)
        .await;
    assert_eq!(status, 200, "{body}");
    let answer: ChatAnswer = serde_json::from_value(body).expect("a ChatAnswer");
    assert!(answer.message.starts_with("**West** leads"), "{}", answer.message);
    let chart = answer.chart_config.expect("a chart");
    assert_eq!(chart.data.len(), 3);
    assert_eq!(answer.metadata.provider, "builtin");
}

async fn the_21st_request_in_a_minute_is_rate_limited_before_the_provider(c: Arc<Ctx>) {
    let user = fresh_user("limit");
    let token = token_for(&user);
    for i in 1..=20 {
        let (status, _, body) = c.llm.chat(&token, &format!("q{i} {user}"), &user).await;
        assert_eq!(status, 200, "request {i}: {body}");
    }
    let (status, headers, body) = c.llm.chat(&token, &format!("q21 {user}"), &user).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "RATE_LIMITED");
    let retry: u64 = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        c.mock.requests_containing(&user).len(),
        20,
        "the limited request never reached the provider"
    );
}

async fn concurrent_requests_admit_exactly_the_limit(c: Arc<Ctx>) {
    let user = fresh_user("burst");
    let token = token_for(&user);
    let requests = (0..25).map(|i| {
        let (api, token, user) = (c.builtin.clone(), token.clone(), user.clone());
        tokio::spawn(async move { api.chat(&token, &format!("how many rows {i}"), &user).await.0 })
    });
    let statuses: Vec<u16> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.unwrap_or(0))
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 20, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 5, "{statuses:?}");
}

async fn bad_tokens_are_rejected_with_401(c: Arc<Ctx>) {
    let now = unix_now();
    let claims = |exp: u64, nbf: u64| Claims {
        sub: "mallory".into(),
        exp,
        nbf: Some(nbf),
        iat: Some(now),
        role: None,
    };
    let b64 = |s: &str| {
        use std::fmt::Write;
        // URL-safe base64 without padding, written out to keep the test independent of the signer.
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = s.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                let _ = write!(out, "{}", ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    };
    let payload = serde_json::to_string(&claims(now + 3600, now)).unwrap_or_default();
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("garbage", Some("not-a-jwt".into())),
        (
            "forged",
            Some(jwt::sign(&claims(now + 3600, now), b"some other secret")),
        ),
        (
            "alg none",
            Some(format!(
                "{}.{}.",
                b64(r#"{"alg":"none","typ":"JWT"}"#),
                b64(&payload)
            )),
        ),
        (
            "expired",
            Some(jwt::sign(
                &claims(now - 3600, now - 7200),
                TEST_JWT_SECRET.as_bytes(),
            )),
        ),
        (
            "not yet valid",
            Some(jwt::sign(
                &claims(now + 7200, now + 3600),
                TEST_JWT_SECRET.as_bytes(),
            )),
        ),
    ];
    for (what, token) in cases {
        let (status, _, body) = c
            .builtin
            .post("/api/v1/chat", token.as_deref(), &chat_body("hi", "s-401"))
            .await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["error"]["code"], "UNAUTHORIZED", "{what}");
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        let (status, _) = c
            .builtin
            .get("/api/v1/sessions/s-401/llm-calls", token.as_deref())
            .await;
        assert_eq!(status, 401, "{what} on llm-calls");
    }
}

async fn malformed_bodies_are_rejected_with_400_and_a_code(c: Arc<Ctx>) {
    let user = fresh_user("bad");
    let token = token_for(&user);
    let resp = c
        .builtin
        .http
        .post(c.builtin.url("/api/v1/chat/stream"))
        .bearer_auth(&token)
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.expect("json error");
    assert_eq!(body["error"]["code"], "BAD_REQUEST");
    for bad in [
        json!({}),
        json!({"message": "", "session_id": "s"}),
        json!({"message": "hi", "session_id": "a b"}),
        json!({"message": 7, "session_id": "s"}),
    ] {
        let (status, _, body) = c.builtin.post("/api/v1/chat/stream", Some(&token), &bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "BAD_REQUEST", "{bad}");
    }
    let (status, _, body) = c
        .builtin
        .post(
            "/api/v1/chat",
            Some(&token),
            &json!({"message": "hi", "session_id": user, "dataset_id": "nope"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}

async fn dev_tokens_work_only_where_enabled(c: Arc<Ctx>) {
    let (status, _, body) = c.builtin.post("/api/v1/auth/dev-token", None, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let user = body["user_id"].as_str().expect("user id").to_owned();
    let (status, _, body) = c.builtin.chat(&token, "How many rows are there?", &user).await;
    assert_eq!(status, 200, "a dev token works: {body}");
    let (status, _, body) = c.llm.post("/api/v1/auth/dev-token", None, &json!({})).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}

async fn call_logs_are_visible_only_to_the_session_owner(c: Arc<Ctx>) {
    let (alice, bob) = (fresh_user("alice"), fresh_user("bob"));
    let (status, _, _) = c.builtin.chat(&token_for(&alice), "How many rows?", &alice).await;
    assert_eq!(status, 200);
    logged_calls(&c.builtin, &token_for(&alice), &alice, |calls| calls.len() == 1).await;
    let (status, body) = c
        .builtin
        .get(
            &format!("/api/v1/sessions/{alice}/llm-calls"),
            Some(&token_for(&bob)),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}

async fn another_users_session_cannot_be_written_to(c: Arc<Ctx>) {
    let (alice, bob) = (fresh_user("owner"), fresh_user("intruder"));
    let (status, _, _) = c.builtin.chat(&token_for(&alice), "How many rows?", &alice).await;
    assert_eq!(status, 200);
    let (status, _, body) = c.builtin.chat(&token_for(&bob), "How many rows?", &alice).await;
    assert_eq!(status, 404, "{body}");
    let calls = logged_calls(&c.builtin, &token_for(&alice), &alice, |calls| !calls.is_empty()).await;
    assert_eq!(calls.len(), 1, "nothing was added to alice's session");
}

async fn unknown_routes_and_methods_answer_json_errors(c: Arc<Ctx>) {
    let (status, body) = c.builtin.get("/api/v1/nope", Some(&token_for("u"))).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "NOT_FOUND");
    let (status, body) = c.builtin.get("/api/v1/chat/stream", None).await;
    assert_eq!(status, 405);
    assert_eq!(body["error"]["code"], "METHOD_NOT_ALLOWED");
}

async fn conversations_are_listed_restored_whole_renamed_and_deleted(c: Arc<Ctx>) {
    let user = fresh_user("sessions");
    let token = token_for(&user);
    let (a, b) = (format!("{user}-a"), format!("{user}-b"));
    for (session, question) in [
        (&a, "How many rows are there?"),
        (&a, "Top 3 regions by revenue"),
        (&b, "Describe the columns"),
    ] {
        let events = c
            .builtin
            .stream(&token, &chat_body(question, session), |_| false)
            .await;
        complete_of(&events);
        logged_calls(&c.builtin, &token, session, |calls| !calls.is_empty()).await;
    }
    // Answers are stored after their stream closes; wait until the second one of `a` is in.
    let mut detail = Value::Null;
    for _ in 0..50 {
        let (_, d) = c
            .builtin
            .get(&format!("/api/v1/sessions/{a}"), Some(&token))
            .await;
        if d["messages"].as_array().is_some_and(|m| m.len() == 4) {
            detail = d;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(detail["title"], "How many rows are there?", "{detail}");
    assert_eq!(detail["dataset_id"], "sample");
    let roles: Vec<&str> = detail["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["role"].as_str())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    let answer: ChatAnswer =
        serde_json::from_value(detail["messages"][3]["answer"].clone()).expect("a whole answer");
    assert!(answer.message.starts_with("**West** leads"), "{}", answer.message);
    assert_eq!(
        answer.chart_config.map(|c| c.data.len()),
        Some(3),
        "the chart comes back"
    );
    assert!(
        !answer.metadata.execution_tree.root.children.is_empty(),
        "the tree comes back"
    );
    assert!(
        detail["messages"][0]["answer"].is_null(),
        "a question has no answer facts"
    );

    let (_, list) = c.builtin.get("/api/v1/sessions", Some(&token)).await;
    let ids: Vec<&str> = list["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, [b.as_str(), a.as_str()], "most recent first");

    let (status, renamed) = c
        .builtin
        .patch(
            &format!("/api/v1/sessions/{a}"),
            &token,
            &json!({"title": "Regions"}),
        )
        .await;
    assert_eq!((status, &renamed["title"]), (200, &json!("Regions")));
    let (status, _) = c
        .builtin
        .patch(&format!("/api/v1/sessions/{a}"), &token, &json!({"title": "  "}))
        .await;
    assert_eq!(status, 400, "a blank title is refused");

    let other = token_for(&fresh_user("snoop"));
    let (status, _) = c
        .builtin
        .get(&format!("/api/v1/sessions/{a}"), Some(&other))
        .await;
    assert_eq!(status, 404);
    let (status, _) = c
        .builtin
        .patch(
            &format!("/api/v1/sessions/{a}"),
            &other,
            &json!({"title": "mine"}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        c.builtin.delete(&format!("/api/v1/sessions/{a}"), &other).await,
        404
    );

    assert_eq!(
        c.builtin.delete(&format!("/api/v1/sessions/{a}"), &token).await,
        204
    );
    let (status, _) = c
        .builtin
        .get(&format!("/api/v1/sessions/{a}"), Some(&token))
        .await;
    assert_eq!(status, 404);
    let (status, _) = c
        .builtin
        .get(&format!("/api/v1/sessions/{a}/llm-calls"), Some(&token))
        .await;
    assert_eq!(status, 404, "its call log went with it");
    let (_, list) = c.builtin.get("/api/v1/sessions", Some(&token)).await;
    assert_eq!(list["sessions"].as_array().map(Vec::len), Some(1));
}
