//! Usage and cost: reports that add up to the call log, one person's usage invisible to another, admin
//! routes for admin tokens only, bad parameters refused with a stable reason, deleted conversations that
//! stay spent, and a CSV export of 10,000 calls that parses back equal.

use std::collections::BTreeMap;

use datasage_shared::csv::{read_all, Limits};
use datasage_tests::calls::LoggedCall;
use datasage_tests::storage::Contents;

use super::*;

/// The instance for these tests, its index in `Ctx::instances`.
pub const USAGE_INSTANCE: usize = 11;
/// Seeded before the instance starts: 10,000 calls in November 2026.
pub const SEEDED_USER: &str = "seeded-export-user";
pub const SEEDED_CALLS: usize = 10_000;
pub const SEEDED_FROM: &str = "2026-11-01";
pub const SEEDED_DAYS: u32 = 28;

pub fn seeded_calls() -> Vec<LoggedCall> {
    datasage_tests::calls::generate(SEEDED_USER, SEEDED_CALLS, SEEDED_FROM, SEEDED_DAYS)
}

/// What the log holds for `user` this month, read from D1's own file: calls, tokens, cost, and per key of
/// `column` the same with the median latency.
struct Independent {
    calls: u64,
    input_tokens: u64,
    cost: f64,
    by: BTreeMap<String, (u64, f64, u64, u64, u64)>, // calls, cost, failed, fallback, p50 latency
}

fn independent(c: &Ctx, user: &str, column: &str) -> Independent {
    let d1 = c.instances[USAGE_INSTANCE].d1_files();
    let conn = rusqlite::Connection::open_with_flags(&d1[0], rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open D1");
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {column}, prompt_tokens, COALESCE(cost_usd, 0), status, fallback, latency_ms FROM llm_calls \
             WHERE user_id = ?1"
        ))
        .expect("prepare");
    let rows: Vec<(String, u64, f64, String, bool, u64)> = stmt
        .query_map([user], |r| {
            let count = |i: usize| r.get::<_, i64>(i).map(|n| n as u64);
            Ok((r.get(0)?, count(1)?, r.get(2)?, r.get(3)?, r.get(4)?, count(5)?))
        })
        .and_then(Iterator::collect)
        .expect("read the call log");
    let mut latencies: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut out = Independent {
        calls: rows.len() as u64,
        input_tokens: rows.iter().map(|r| r.1).sum(),
        cost: rows.iter().map(|r| r.2).sum(),
        by: BTreeMap::new(),
    };
    for (key, _, cost, status, fallback, latency) in rows {
        let e = out.by.entry(key.clone()).or_default();
        e.0 += 1;
        e.1 += cost;
        e.2 += u64::from(status == "error");
        e.3 += u64::from(fallback);
        latencies.entry(key).or_default().push(latency);
    }
    for (key, mut l) in latencies {
        l.sort_unstable();
        if let Some(e) = out.by.get_mut(&key) {
            e.4 = l[l.len().div_ceil(2) - 1]; // the lower median, as the report takes it
        }
    }
    out
}

/// Polls the month's summary until `user` has `calls` calls logged (they are stored after the stream).
async fn summary_with(api: &Api, token: &str, calls: u64) -> Value {
    for _ in 0..100 {
        let (status, body) = api.get("/api/v1/usage/summary", Some(token)).await;
        assert_eq!(status, 200, "{body}");
        if body["calls"].as_u64() == Some(calls) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the month's calls never reached {calls}");
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

pub async fn every_usage_grouping_adds_up_to_the_call_log_to_the_cent(c: Arc<Ctx>) {
    let user = fresh_user("usage");
    let token = token_for(&user);
    let (a, b) = (format!("{user}-a"), format!("{user}-b"));
    let api = &c.usage;
    for (question, session) in [
        ("How many rows are there?", &a),
        ("[mock:openai:status=500] Which region leads?", &b),
        ("[mock:answer=empty] And the runner-up?", &a),
    ] {
        complete_of(&api.stream(&token, &chat_body(question, session), |_| false).await);
    }
    // openai; openai failed then anthropic; openai empty, then repaired: five calls.
    let summary = summary_with(api, &token, 5).await;
    let log = independent(&c, &user, "provider");
    assert_eq!(summary["calls"], log.calls);
    assert_eq!(summary["input_tokens"], log.input_tokens);
    assert!(
        close(summary["spent_usd"].as_f64().unwrap_or(-1.0), log.cost),
        "{summary}"
    );
    assert!(log.cost > 0.0, "the mock's models are priced");
    assert_eq!(summary["unpriced_calls"], 0);
    let (_, report) = api.get("/api/v1/usage", Some(&token)).await;
    assert_eq!(
        (
            &report["total"]["estimated_calls"],
            &report["total"]["unpriced_calls"]
        ),
        (&json!(1), &json!(0)),
        "only the call that failed reported no usage, and the mock's models are priced: {report}"
    );
    assert_eq!(summary["budget_usd"], Value::Null);
    assert!(summary["reset_at"]
        .as_str()
        .is_some_and(|r| r.ends_with("-01T00:00:00Z")));

    for (group_by, column) in [
        ("day", "substr(created_at, 1, 10)"),
        ("session", "session_id"),
        ("provider", "provider"),
        ("model", "model"),
    ] {
        let (status, report) = api
            .get(&format!("/api/v1/usage?group_by={group_by}"), Some(&token))
            .await;
        assert_eq!(status, 200, "{report}");
        let log = independent(&c, &user, column);
        let total = &report["total"];
        assert_eq!(total["calls"], log.calls, "{group_by}");
        assert!(
            close(total["cost_usd"].as_f64().unwrap_or(-1.0), log.cost),
            "{group_by}: {report}"
        );
        let rows = report["rows"].as_array().cloned().unwrap_or_default();
        assert_eq!(rows.len(), log.by.len(), "{group_by}: {report}");
        for row in &rows {
            let key = row["key"].as_str().unwrap_or_default();
            let (calls, cost, failed, fallback, p50) = log.by[key];
            assert_eq!(row["calls"], calls, "{group_by} {key}");
            assert!(
                close(row["cost_usd"].as_f64().unwrap_or(-1.0), cost),
                "{group_by} {key}"
            );
            assert_eq!(
                (row["failed_calls"].as_u64(), row["fallback_calls"].as_u64()),
                (Some(failed), Some(fallback))
            );
            assert_eq!(row["p50_latency_ms"], p50, "{group_by} {key}: the median latency");
        }
        let summed: f64 = rows.iter().filter_map(|r| r["cost_usd"].as_f64()).sum();
        assert!(
            close(summed, log.cost),
            "{group_by}: the rows add up to the total"
        );
    }
    let (_, by_provider) = api.get("/api/v1/usage?group_by=provider", Some(&token)).await;
    let row = |p: &str| {
        by_provider["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["key"] == p).cloned())
    };
    assert_eq!(
        row("openai").map(|r| r["failed_calls"].clone()),
        Some(json!(1)),
        "{by_provider}"
    );
    assert_eq!(
        row("anthropic").map(|r| r["fallback_calls"].clone()),
        Some(json!(1)),
        "{by_provider}"
    );
    let (_, by_session) = api.get("/api/v1/usage?group_by=session", Some(&token)).await;
    let rows = by_session["rows"].as_array().cloned().unwrap_or_default();
    let costs: Vec<f64> = rows.iter().filter_map(|r| r["cost_usd"].as_f64()).collect();
    assert!(
        costs.windows(2).all(|w| w[0] >= w[1]),
        "costliest first: {by_session}"
    );
    let titled = rows
        .iter()
        .find(|r| r["key"] == a.as_str())
        .map(|r| r["label"].clone());
    assert_eq!(titled, Some(json!("How many rows are there?")), "{by_session}");
}

pub async fn one_persons_usage_is_invisible_to_another_and_only_admins_see_everyone(c: Arc<Ctx>) {
    let (alice, bob) = (fresh_user("alice"), fresh_user("bob"));
    let (alice_token, bob_token) = (token_for(&alice), token_for(&bob));
    let api = &c.usage;
    complete_of(
        &api.stream(
            &alice_token,
            &chat_body("How many rows are there?", &alice),
            |_| false,
        )
        .await,
    );
    let alice_summary = summary_with(api, &alice_token, 1).await;

    assert_eq!(summary_with(api, &bob_token, 0).await["spent_usd"], 0.0);
    for path in [
        "/api/v1/usage?group_by=session",
        "/api/v1/usage?group_by=provider",
    ] {
        let (status, report) = api.get(path, Some(&bob_token)).await;
        assert_eq!(
            (status, &report["rows"], &report["total"]["calls"]),
            (200, &json!([]), &json!(0))
        );
    }
    let (_, page) = api.get("/api/v1/usage/calls", Some(&bob_token)).await;
    assert_eq!(page["calls"], json!([]));
    let (_, csv) = api.get("/api/v1/usage/calls?format=csv", Some(&bob_token)).await;
    assert_eq!(
        csv.as_str().map(|t| t.lines().count()),
        Some(1),
        "the header alone: {csv}"
    );

    for token in [&bob_token, &alice_token] {
        let (status, body) = api.get("/api/v1/admin/usage", Some(token)).await;
        assert_eq!((status, &body["error"]["code"]), (403, &json!("FORBIDDEN")));
        let (status, _) = api
            .put(
                &format!("/api/v1/admin/users/{bob}/budget"),
                token,
                &json!({"budget_usd": 100}),
            )
            .await;
        assert_eq!(status, 403, "a person cannot raise their own budget");
    }
    let (_, _, dev) = c.builtin.post("/api/v1/auth/dev-token", None, &json!({})).await;
    let (status, _) = c.builtin.get("/api/v1/admin/usage", dev["token"].as_str()).await;
    assert_eq!(status, 403, "a dev token is never an admin's");

    let admin = admin_token_for(&fresh_user("admin"));
    let (status, everyone) = api.get("/api/v1/admin/usage?group_by=user", Some(&admin)).await;
    assert_eq!(status, 200, "{everyone}");
    let alice_row = everyone["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["key"] == alice.as_str()).cloned());
    assert_eq!(
        alice_row.map(|r| r["cost_usd"].clone()),
        Some(alice_summary["spent_usd"].clone())
    );
    let (status, november) = api
        .get(
            "/api/v1/admin/usage?group_by=user&from=2026-11-01&to=2026-11-30",
            Some(&admin),
        )
        .await;
    assert_eq!(
        (status, &november["rows"][0]["key"], &november["rows"][0]["calls"]),
        (200, &json!(SEEDED_USER), &json!(SEEDED_CALLS))
    );

    let (status, set) = api
        .put(
            &format!("/api/v1/admin/users/{alice}/budget"),
            &admin,
            &json!({"budget_usd": 0.5}),
        )
        .await;
    assert_eq!((status, &set["budget_usd"]), (200, &json!(0.5)), "{set}");
    let (_, summary) = api.get("/api/v1/usage/summary", Some(&alice_token)).await;
    let spent = summary["spent_usd"].as_f64().unwrap_or(-1.0);
    assert_eq!(summary["budget_usd"], 0.5);
    assert!(
        close(
            summary["percent_used"].as_f64().unwrap_or(-1.0),
            spent / 0.5 * 100.0
        ),
        "{summary}"
    );
    let (_, others) = api.get("/api/v1/usage/summary", Some(&bob_token)).await;
    assert_eq!(
        others["budget_usd"],
        Value::Null,
        "one user's budget is theirs alone"
    );
}

pub async fn bad_usage_parameters_are_refused_with_a_stable_reason(c: Arc<Ctx>) {
    let token = token_for(&fresh_user("params"));
    for (path, reason) in [
        ("/api/v1/usage?from=2026-02-30", "USAGE_BAD_DATE"),
        ("/api/v1/usage?to=12%2F07%2F2026", "USAGE_BAD_DATE"),
        ("/api/v1/usage?from=2026-12-07&to=2026-12-01", "USAGE_BAD_RANGE"),
        ("/api/v1/usage?from=2020-01-01&to=2026-12-01", "USAGE_BAD_RANGE"),
        ("/api/v1/usage?group_by=user", "USAGE_BAD_GROUP_BY"),
        ("/api/v1/usage?group_by=day%27%20OR%201%3D1", "USAGE_BAD_GROUP_BY"),
        ("/api/v1/usage/calls?cursor=zz", "USAGE_BAD_CURSOR"),
        ("/api/v1/usage/calls?limit=0", "USAGE_BAD_LIMIT"),
        ("/api/v1/usage/calls?limit=5000", "USAGE_BAD_LIMIT"),
    ] {
        let (status, body) = c.usage.get(path, Some(&token)).await;
        assert_eq!(
            (status, &body["error"]["code"], &body["error"]["reason"]),
            (400, &json!("BAD_REQUEST"), &json!(reason)),
            "{path}: {body}"
        );
    }
    let admin = admin_token_for(&fresh_user("admin"));
    for body in [
        json!({}),
        json!({"budget": 5}),
        json!({"budget_usd": -1}),
        json!({"budget_usd": "5"}),
    ] {
        let (status, answer) = c
            .usage
            .put("/api/v1/admin/users/someone/budget", &admin, &body)
            .await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (400, &json!("BAD_REQUEST")),
            "{body}: {answer}"
        );
    }
}

pub async fn a_deleted_conversation_stays_spent_but_keeps_none_of_its_words(c: Arc<Ctx>) {
    let user = fresh_user("forget");
    let token = token_for(&user);
    let word = format!("zanzibar{}", user.len() * 7919);
    complete_of(
        &c.usage
            .stream(
                &token,
                &chat_body(&format!("How many rows mention {word}?"), &user),
                |_| false,
            )
            .await,
    );
    let before = summary_with(&c.usage, &token, 1).await;
    assert_eq!(
        c.usage.delete(&format!("/api/v1/sessions/{user}"), &token).await,
        204
    );
    let after = summary_with(&c.usage, &token, 1).await;
    assert_eq!(
        (
            &after["spent_usd"],
            &after["input_tokens"],
            &after["output_tokens"]
        ),
        (
            &before["spent_usd"],
            &before["input_tokens"],
            &before["output_tokens"]
        ),
        "deleting cannot shrink usage or reset a budget"
    );
    let (_, by_session) = c.usage.get("/api/v1/usage?group_by=session", Some(&token)).await;
    assert_eq!(
        (&by_session["rows"][0]["key"], &by_session["rows"][0]["label"]),
        (&json!(user), &Value::Null)
    );
    for d1 in c.instances[USAGE_INSTANCE].d1_files() {
        let stored = Contents::read(&d1).expect("read D1");
        assert!(
            !stored.contains(&word),
            "the question's words are gone from {}",
            d1.display()
        );
    }
}

pub async fn ten_thousand_calls_export_as_csv_and_parse_back_equal(c: Arc<Ctx>) {
    let token = token_for(SEEDED_USER);
    let range = "from=2026-11-01&to=2026-11-30";
    let resp = c
        .usage
        .http
        .get(c.usage.url(&format!("/api/v1/usage/calls?{range}")))
        .bearer_auth(&token)
        .header("accept", "text/csv")
        .send()
        .await
        .expect("export");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .is_ok_and(|t| t.starts_with("text/csv")));
    assert!(
        resp.headers().get("content-length").is_none(),
        "streamed, not built whole"
    );
    let body = resp.bytes().await.expect("read the export");
    let (header, records) = read_all(&body, Limits::default()).expect("the export is valid CSV");
    assert_eq!(header.join(","), datasage_shared::usage::CSV_HEADER.trim_end());
    let mut expected = seeded_calls();
    expected.sort_by(|x, y| (&y.created_at, &y.id).cmp(&(&x.created_at, &x.id)));
    assert_eq!(records.len(), expected.len());
    for (got, want) in records.iter().zip(&expected) {
        let field = |i: usize| got[i].clone().unwrap_or_default();
        assert_eq!(
            (field(0), field(1), field(2), field(3), field(4), field(6)),
            (
                want.id.clone(),
                want.created_at.clone(),
                want.session_id.clone(),
                want.provider.clone(),
                want.model.clone(),
                want.status.clone()
            )
        );
        assert_eq!(
            (field(7), field(8), field(10)),
            (
                want.prompt_tokens.to_string(),
                want.completion_tokens.to_string(),
                want.latency_ms.to_string()
            )
        );
        let cost = got[9].as_deref().map(|v| v.parse::<f64>().expect("a number"));
        assert_eq!(cost, want.cost_usd, "{}", want.id);
        assert_eq!(
            (field(12), field(13)),
            (want.fallback.to_string(), want.unpriced.to_string())
        );
    }

    // The same calls as JSON pages, by cursor: each once, in the same order.
    let (mut ids, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let after = cursor
            .as_ref()
            .map(|c| format!("&cursor={c}"))
            .unwrap_or_default();
        let (status, page) = c
            .usage
            .get(
                &format!("/api/v1/usage/calls?{range}&limit=1000{after}"),
                Some(&token),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        ids.extend(
            page["calls"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["id"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let want: Vec<String> = expected.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids, want);
}

pub async fn a_questions_cost_is_estimated_before_it_is_asked_from_the_models_price(c: Arc<Ctx>) {
    let token = token_for(&fresh_user("estimate"));
    let (status, estimate) = c.usage.get("/api/v1/usage/estimate", Some(&token)).await;
    assert_eq!(status, 200, "{estimate}");
    assert_eq!(
        (&estimate["provider"], &estimate["model"]),
        (&json!("openai"), &json!(MOCK_MODEL))
    );
    assert_eq!(
        (&estimate["input_per_m"], &estimate["output_per_m"]),
        (&json!(0.15), &json!(0.6))
    );
    let prompt = estimate["prompt_tokens"].as_u64().unwrap_or(0);
    assert!(
        (500..10_000).contains(&prompt),
        "the sample's profile is in the prompt: {prompt}"
    );
    assert_eq!(estimate["max_output_tokens"], 1500);

    let (status, free) = c
        .builtin
        .get("/api/v1/usage/estimate?dataset_id=sample", Some(&token))
        .await;
    assert_eq!(
        (status, &free["provider"], &free["input_per_m"]),
        (200, &json!("builtin"), &json!(0.0))
    );

    let (_, upload) = c.usage.upload(&token, "mine", "a,b\n1,2\n").await;
    let id = upload["id"].as_str().unwrap_or_default().to_owned();
    let other = token_for(&fresh_user("other"));
    let (status, _) = c
        .usage
        .get(&format!("/api/v1/usage/estimate?dataset_id={id}"), Some(&other))
        .await;
    assert_eq!(status, 404, "another user's dataset does not exist for them");
    let (status, small) = c
        .usage
        .get(&format!("/api/v1/usage/estimate?dataset_id={id}"), Some(&token))
        .await;
    assert_eq!(status, 200);
    assert!(
        small["prompt_tokens"].as_u64().unwrap_or(u64::MAX) < prompt,
        "a smaller profile, a smaller prompt"
    );
}
