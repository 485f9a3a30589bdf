//! Each person's data walled off by construction, through real `wrangler dev`: a dataset's rows live in
//! that dataset's own Durable Object, so a query — whatever it says, validated or not — can read only
//! that dataset. An attacker's model-proposed SQL never returns another user's data or anything
//! app-internal, every attack ends in a clean `complete` or `error` with its log row, and a query whose
//! cost grows faster than the table is refused before it runs.

use std::sync::Arc;

use datasage_shared::api::StreamEvent;
use datasage_shared::tree::{NodeStatus, TreeNode as Node};
use datasage_tests::client::{fresh_user, token_for, Api, Timed};
use datasage_tests::storage::Contents;
use datasage_tests::wrangler::WorkerInstance;
use futures::future::join_all;
use serde_json::json;

use super::{complete_of, find, logged_calls, Ctx};

/// Index of the `llm` instance in [`Ctx::instances`].
const LLM: usize = 1;

/// A victim with a marker in their dataset's rows and another in their chat (so in D1's messages and
/// call log).
struct Victim {
    row_mark: String,
    chat_mark: String,
    user: String,
    dataset_id: String,
}

async fn victim(api: &Api, tag: &str) -> Victim {
    let user = fresh_user(tag);
    let token = token_for(&user);
    let row_mark = format!("ROWMARK{}", user.replace('-', ""));
    let chat_mark = format!("CHATMARK{}", user.replace('-', ""));
    let csv = format!("region,secret,amount\nWest,{row_mark},10\nEast,{row_mark},20\n");
    let (status, detail) = api.upload(&token, "victim data", csv.into_bytes()).await;
    assert_eq!(status, 201, "{detail}");
    let dataset_id = detail["id"].as_str().expect("id").to_owned();
    let question = format!("What is {chat_mark}? [mock:sql=SELECT COUNT(*) AS n FROM data] {user}");
    let body = json!({ "message": question, "session_id": user, "dataset_id": dataset_id });
    complete_of(&api.stream(&token, &body, |_| false).await);
    logged_calls(api, &token, &user, |calls| calls.len() == 2).await;
    Victim {
        row_mark,
        chat_mark,
        user,
        dataset_id,
    }
}

fn corpus() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(datasage_tests::repo_root().join("shared/tests/fixtures/sql_attacks.tsv"))
            .expect("the attack corpus");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(class, sql)| (class.to_owned(), sql.to_owned()))
        .collect()
}

/// Asks `sql` through the mock model as a fresh attacker, over `dataset` (their own) or the sample, and
/// checks the answer leaks nothing of the victim's, the stream ends cleanly, and the calls are logged.
async fn attack(api: &Api, v: &Victim, class: &str, marker: &str, dataset: Option<(&str, &str)>) {
    let (token, dataset_id) = match dataset {
        Some((user, id)) => (token_for(user), Some(id.to_owned())),
        None => (token_for(&fresh_user("attacker")), None),
    };
    let session = fresh_user("attack-session");
    let question = format!("Show me everything {marker} {session}");
    let body = json!({ "message": question, "session_id": session, "dataset_id": dataset_id });
    let events = api.stream(&token, &body, |_| false).await;
    let seen =
        serde_json::to_string(&events.iter().map(|t| &t.event).collect::<Vec<_>>()).unwrap_or_default();
    // (The victim's dataset id is not secret here: the guessing attacks spell it out themselves.)
    for secret in [&v.row_mark, &v.chat_mark, &v.user] {
        assert!(
            !seen.contains(secret.as_str()),
            "{class}: {marker} leaked {secret}: {seen}"
        );
    }
    // What only stored schemas and bookkeeping hold (the attacks' own SQL is shown in the tree, so names
    // alone prove nothing).
    for internal in [
        "0001_init.sql",
        "CREATE TABLE sessions",
        "CREATE TABLE llm_calls",
        "CREATE TABLE data(",
        "__miniflare_do_name",
    ] {
        assert!(
            !seen.contains(internal),
            "{class}: {marker} leaked {internal}: {seen}"
        );
    }
    match events.last().map(|t| &t.event) {
        Some(StreamEvent::Complete(_) | StreamEvent::Error(_)) => {}
        other => panic!("{class}: {marker} ended with {other:?}"),
    }
    logged_calls(api, &token, &session, |calls| !calls.is_empty()).await;
}

pub async fn every_attack_in_the_corpus_leaks_nothing_and_ends_cleanly(c: Arc<Ctx>) {
    let v = victim(&c.llm, "victim").await;
    let mut attacks: Vec<(String, String)> = corpus()
        .into_iter()
        .map(|(class, sql)| (class, format!("[mock:sql={sql}]")))
        .collect();
    let id = &v.dataset_id;
    for guess in [
        format!("SELECT * FROM \"{id}\""),
        format!("SELECT * FROM \"ds_{}\"", id.replace('-', "")),
        format!("SELECT * FROM data UNION ALL SELECT region, secret, amount FROM \"{id}\""),
    ] {
        attacks.push(("other-users-dataset".into(), format!("[mock:sql={guess}]")));
    }
    attacks.push(("huge-expression".into(), "[mock:sql-huge=50000]".into()));
    for batch in attacks.chunks(6) {
        join_all(
            batch
                .iter()
                .map(|(class, marker)| attack(&c.llm, &v, class, marker, None)),
        )
        .await;
    }
}

pub async fn another_user_reaches_nothing_of_the_first_users_data_through_chat(c: Arc<Ctx>) {
    let v = victim(&c.llm, "victim-two").await;
    let attacker = fresh_user("attacker-with-data");
    let (status, detail) = c
        .llm
        .upload(
            &token_for(&attacker),
            "mine",
            &b"region,secret,amount\nNorth,mine,1\n"[..],
        )
        .await;
    assert_eq!(status, 201, "{detail}");
    let own = detail["id"].as_str().expect("id").to_owned();
    let id = &v.dataset_id;
    for sql in [
        "SELECT * FROM data".to_owned(),
        format!("SELECT * FROM \"{id}\""),
        "SELECT * FROM sqlite_master".to_owned(),
        "SELECT * FROM llm_calls".to_owned(),
        "SELECT * FROM datasets".to_owned(),
    ] {
        attack(
            &c.llm,
            &v,
            "two-users",
            &format!("[mock:sql={sql}]"),
            Some((&attacker, &own)),
        )
        .await;
    }
    let (status, _, body) = c
        .llm
        .post(
            "/api/v1/chat",
            Some(&token_for(&attacker)),
            &json!({"message": "everything?", "session_id": fresh_user("s"), "dataset_id": id}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{body}"
    );
}

/// Every dataset object's database, read without any validator.
fn dataset_objects(instance: &WorkerInstance) -> Vec<Contents> {
    instance
        .object_files("DatasetStore")
        .iter()
        .map(|p| Contents::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

pub async fn a_dataset_object_holds_that_dataset_and_nothing_else(c: Arc<Ctx>) {
    let v = victim(&c.llm, "victim-three").await;
    let instance = &c.instances[LLM];
    let objects = dataset_objects(instance);
    let holding: Vec<&Contents> = objects.iter().filter(|o| o.contains(&v.row_mark)).collect();
    assert_eq!(holding.len(), 1, "exactly one object holds the victim's rows");
    for o in &objects {
        for table in o.table_names() {
            let allowed = table == "data"
                || table
                    .strip_prefix("probe_")
                    .is_some_and(|n| n.parse::<u32>().is_ok())
                || table == "__miniflare_do_name";
            assert!(allowed, "{}: unexpected table {table}", o.path.display());
        }
        assert!(
            !o.contains(&v.chat_mark),
            "chat text is never in a dataset object"
        );
    }
    // D1 holds the registry (the profile's examples) and the call log (prompt excerpts), never a
    // dataset's table.
    for d1 in instance.d1_files() {
        let contents = Contents::read(&d1).expect("read D1");
        for (table, cells) in &contents.tables {
            if cells.iter().any(|c| c.contains(&v.row_mark)) {
                assert!(
                    ["datasets", "llm_calls"].contains(&table.as_str()),
                    "rows in D1 table {table}"
                );
            }
        }
    }
    let token = token_for(&v.user);
    assert_eq!(
        c.llm
            .delete(&format!("/api/v1/datasets/{}", v.dataset_id), &token)
            .await,
        204
    );
    let after = dataset_objects(instance);
    assert!(
        after.iter().all(|o| !o.contains(&v.row_mark)),
        "deleting a dataset deletes its rows"
    );
}

fn query_node(events: &[Timed]) -> Option<Node> {
    let root = &complete_of(events).metadata.execution_tree.root;
    find(root, &|n| n.query.is_some()).cloned()
}

pub async fn a_query_whose_cost_grows_faster_than_the_table_is_refused_before_it_runs(c: Arc<Ctx>) {
    let user = fresh_user("heavy");
    let token = token_for(&user);
    let mut csv = String::from("g,x\n");
    for i in 0..20_000 {
        csv.push_str(&format!("{},{}\n", i % 5, i));
    }
    let (status, detail) = c.llm.upload(&token, "twenty thousand", csv.into_bytes()).await;
    assert_eq!(status, 201, "{detail}");
    let id = detail["id"].as_str().expect("id").to_owned();
    let ask_sql = |sql: &'static str| {
        let session = fresh_user("heavy-session");
        let body = json!({
            "message": format!("How many? [mock:sql={sql}] {session}"),
            "session_id": session,
            "dataset_id": id,
        });
        let (api, token) = (&c.llm, &token);
        async move { api.stream(token, &body, |_| false).await }
    };
    for heavy in [
        "SELECT COUNT(*) AS n FROM data a JOIN data b ON a.g = b.g",
        "SELECT (SELECT COUNT(*) FROM data b WHERE b.x < a.x) AS n FROM data a",
    ] {
        let events = ask_sql(heavy).await;
        let answer = complete_of(&events);
        let refused = find(&answer.metadata.execution_tree.root, &|n| {
            n.query.is_some() && n.status == NodeStatus::Failed
        })
        .unwrap_or_else(|| panic!("{heavy} was not refused: {:?}", answer.metadata.execution_tree));
        assert!(
            refused
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("would read about")),
            "{heavy}: {:?}",
            refused.detail
        );
    }
    let events = ask_sql("SELECT g, COUNT(*) AS n, SUM(x) AS s FROM data GROUP BY g").await;
    let node = query_node(&events).expect("a query node");
    assert_eq!(node.status, NodeStatus::Done, "{:?}", node.detail);
    assert_eq!(node.query.and_then(|q| q.rows), Some(5));
    assert!(
        complete_of(&events).message.contains("| 39990000 |"),
        "{}",
        complete_of(&events).message
    );
}

pub async fn uploads_wider_than_storage_allows_are_refused_as_invalid_csv(c: Arc<Ctx>) {
    let token = token_for(&fresh_user("wide"));
    let csv = |n: usize| {
        let header: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let row: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        format!("{}\n{}\n", header.join(","), row.join(",")).into_bytes()
    };
    let (status, body) = c.builtin.upload(&token, "too wide", csv(101)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "INVALID_CSV", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("101 columns; at most 100")),
        "{body}"
    );
    let (status, body) = c.builtin.upload(&token, "just wide enough", csv(100)).await;
    assert_eq!((status, &body["column_count"]), (201, &json!(100)), "{body}");
}
