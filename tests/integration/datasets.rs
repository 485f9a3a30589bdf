//! Datasets through real `wrangler dev` and local D1: uploads land whole with a profile and typed columns,
//! bad files are refused with a code and a line and store nothing, and nobody sees another user's data.

use std::sync::Arc;

use datasage_shared::api::StreamEvent;
use datasage_tests::client::{fresh_user, token_for, Api};
use serde_json::{json, Value};

use super::{complete_of, logged_calls, Ctx};

/// The sample's rows, split on commas (it has no quoted fields).
fn sample_rows() -> Vec<Vec<String>> {
    let csv =
        std::fs::read_to_string(datasage_tests::repo_root().join("data/sample_sales.csv")).expect("sample");
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// The sample's five products with the most revenue, computed independently of the worker.
pub fn sample_top_products() -> Vec<(String, f64)> {
    let mut sums: std::collections::BTreeMap<String, f64> = Default::default();
    for r in sample_rows() {
        *sums.entry(r[4].clone()).or_default() += r[10].parse::<f64>().unwrap_or(0.0);
    }
    let mut v: Vec<(String, f64)> = sums.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.truncate(5);
    v
}

/// The number in the markdown table cell after `key`'s cell, e.g. `| Desk | 1,234.50 |` → 1234.5.
pub fn cell_after(markdown: &str, key: &str) -> Option<f64> {
    let line = markdown.lines().find(|l| l.starts_with(&format!("| {key} |")))?;
    line.split('|').nth(2)?.trim().replace(',', "").parse().ok()
}

/// The user's own datasets in a list (the shared sample left out).
fn own(list: &Value) -> Vec<Value> {
    list["datasets"]
        .as_array()
        .map(|ds| ds.iter().filter(|d| d["builtin"] != true).cloned().collect())
        .unwrap_or_default()
}

async fn ask_about(
    api: &Api,
    token: &str,
    session: &str,
    dataset: &str,
    question: &str,
) -> Vec<datasage_tests::client::Timed> {
    let body = json!({ "message": question, "session_id": session, "dataset_id": dataset });
    api.stream(token, &body, |_| false).await
}

const AWKWARD: &[u8] = b"\xEF\xBB\xBFid,product name,price,in stock,added,note\r\n\
1,\"Desk, oak\",449.5,true,2024-01-02,\"says \"\"hi\"\"\"\r\n\
2,Chair,89,no,2024-02-10,\r\n\
3,\"Lamp\nwith shade\",19.99,yes,2024-03-01,ok\r\n";

fn column<'a>(detail: &'a Value, name: &str) -> &'a Value {
    detail["profile"]["columns"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no column {name} in {detail}"))
}

pub async fn an_upload_lands_whole_with_profile_preview_and_delete(c: Arc<Ctx>) {
    let token = token_for(&fresh_user("upload"));
    let (status, detail) = c.builtin.upload(&token, "Inventory", AWKWARD).await;
    assert_eq!(status, 201, "{detail}");
    assert_eq!(
        (detail["name"].as_str(), detail["row_count"].as_u64()),
        (Some("Inventory"), Some(3))
    );
    assert_eq!(detail["column_count"], 6);
    assert_eq!(
        detail["version"].as_str().map(str::len),
        Some(64),
        "a SHA-256 content hash"
    );
    let types: Vec<&str> = ["id", "product name", "price", "in stock", "added", "note"]
        .iter()
        .map(|n| column(&detail, n)["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(types, ["integer", "text", "float", "boolean", "date", "text"]);
    assert_eq!(column(&detail, "note")["nulls"], 1);
    assert_eq!(column(&detail, "price")["numeric"]["max"], 449.5);
    assert_eq!(
        column(&detail, "added")["date_range"],
        json!(["2024-01-02", "2024-03-01"])
    );
    let id = detail["id"].as_str().expect("id").to_owned();

    let (status, list) = c.builtin.get("/api/v1/datasets", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(own(&list).len(), 1);

    let (status, page) = c
        .builtin
        .get(
            &format!("/api/v1/datasets/{id}/rows?offset=1&limit=5"),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["columns"][1], "product name");
    assert_eq!(
        page["rows"],
        json!([
            [2, "Chair", 89, 0, "2024-02-10", null],
            [3, "Lamp\nwith shade", 19.99, 1, "2024-03-01", "ok"]
        ])
    );

    assert_eq!(
        c.builtin.delete(&format!("/api/v1/datasets/{id}"), &token).await,
        204
    );
    let (status, body) = c
        .builtin
        .get(&format!("/api/v1/datasets/{id}"), Some(&token))
        .await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("NOT_FOUND")));
    let (_, list) = c.builtin.get("/api/v1/datasets", Some(&token)).await;
    assert!(own(&list).is_empty());
}

pub async fn the_sample_uploaded_profiles_like_an_independent_computation(c: Arc<Ctx>) {
    let csv = std::fs::read(datasage_tests::repo_root().join("data/sample_sales.csv")).expect("sample");
    let revenue: Vec<f64> = sample_rows()
        .iter()
        .map(|r| r[10].parse().unwrap_or(0.0))
        .collect();
    let mean = revenue.iter().sum::<f64>() / revenue.len() as f64;
    let min = revenue.iter().copied().fold(f64::INFINITY, f64::min);
    let max = revenue.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let token = token_for(&fresh_user("sample"));
    let (status, detail) = c.builtin.upload(&token, "sales", csv).await;
    assert_eq!(status, 201, "{detail}");
    assert_eq!(detail["row_count"], 3000);
    let r = &column(&detail, "revenue")["numeric"];
    assert!((r["mean"].as_f64().unwrap_or(0.0) - mean).abs() < 1e-6);
    assert_eq!((r["min"].as_f64(), r["max"].as_f64()), (Some(min), Some(max)));
    assert_eq!(column(&detail, "region")["distinct"], 5);
}

pub async fn bad_uploads_are_refused_with_a_code_and_line_and_store_nothing(c: Arc<Ctx>) {
    let token = token_for(&fresh_user("badcsv"));
    let huge_field = format!("a,b\n1,{}\n", "x".repeat(70 * 1024));
    let cases: Vec<(Vec<u8>, u16, &str, Option<u64>)> = vec![
        (b"a,b\n1,2\n3\n".to_vec(), 400, "CSV_RAGGED_ROW", Some(3)),
        (b"a,b\n1,\xff\xfe\n".to_vec(), 400, "CSV_INVALID_UTF8", Some(2)),
        (
            b"a\n\"never closed\n".to_vec(),
            400,
            "CSV_UNTERMINATED_QUOTE",
            Some(2),
        ),
        (Vec::new(), 400, "CSV_EMPTY", None),
        (b"a,b\r\n".to_vec(), 400, "CSV_NO_ROWS", None),
        (b"a,a\n1,2\n".to_vec(), 400, "CSV_BAD_HEADER", Some(1)),
        (huge_field.into_bytes(), 400, "CSV_FIELD_TOO_LONG", Some(2)),
    ];
    for (csv, status, reason, line) in cases {
        let (got, body) = c.builtin.upload(&token, "bad", csv).await;
        assert_eq!(got, status, "{reason}: {body}");
        assert_eq!(body["error"]["code"], "INVALID_CSV", "{reason}");
        assert_eq!(body["error"]["reason"], reason);
        assert_eq!(body["error"]["line"].as_u64(), line, "{reason}");
    }
    let (status, body) = c.builtin.upload(&token, "", &b"a\n1\n"[..]).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("BAD_REQUEST")),
        "a name is required"
    );
    let (_, list) = c.builtin.get("/api/v1/datasets", Some(&token)).await;
    assert!(own(&list).is_empty(), "nothing half-stored");
}

pub async fn another_users_dataset_does_not_exist_for_them(c: Arc<Ctx>) {
    let (owner, other) = (token_for(&fresh_user("owner")), token_for(&fresh_user("other")));
    let (status, detail) = c.builtin.upload(&owner, "mine", &b"a\n1\n"[..]).await;
    assert_eq!(status, 201, "{detail}");
    let id = detail["id"].as_str().expect("id").to_owned();
    for path in [
        format!("/api/v1/datasets/{id}"),
        format!("/api/v1/datasets/{id}/rows"),
    ] {
        let (status, body) = c.builtin.get(&path, Some(&other)).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (404, &json!("NOT_FOUND")),
            "{path}"
        );
    }
    assert_eq!(
        c.builtin.delete(&format!("/api/v1/datasets/{id}"), &other).await,
        404
    );
    let (_, list) = c.builtin.get("/api/v1/datasets", Some(&other)).await;
    assert!(own(&list).is_empty());
    let (status, _) = c
        .builtin
        .get(&format!("/api/v1/datasets/{id}"), Some(&owner))
        .await;
    assert_eq!(status, 200, "still there for its owner");
}

/// A shop's orders: Desk 1,000 + 250.50 = 1,250.50; Lamp 600; Chair 3 × 150 = 450; Rug 300; Vase 120;
/// Mug 15 + NULL.
const SHOP: &[u8] = b"order,product,revenue,day\n\
1,Desk,1000,2024-01-05\n2,Lamp,600,2024-01-09\n3,Chair,150,2024-02-01\n4,Chair,150,2024-02-02\n\
5,Chair,150,2024-02-03\n6,Rug,300,2024-02-20\n7,Desk,250.50,2024-03-01\n8,Vase,120,2024-03-02\n\
9,Mug,15,2024-03-03\n10,Mug,,2024-03-04\n";

pub async fn the_builtin_analyst_answers_on_an_upload_with_its_sql_in_the_tree(c: Arc<Ctx>) {
    let user = fresh_user("shop");
    let token = token_for(&user);
    let (status, detail) = c.builtin.upload(&token, "shop orders", SHOP).await;
    assert_eq!(status, 201, "{detail}");
    let id = detail["id"].as_str().expect("id").to_owned();
    let events = ask_about(
        &c.builtin,
        &token,
        &user,
        &id,
        "What are the top 5 products by revenue?",
    )
    .await;
    let answer = complete_of(&events);
    assert!(
        answer
            .message
            .starts_with("**Desk** leads with a total revenue of **1,250.50** (45.7% of the total)."),
        "{}",
        answer.message
    );
    for (product, revenue) in [
        ("Desk", 1250.5),
        ("Lamp", 600.0),
        ("Chair", 450.0),
        ("Rug", 300.0),
        ("Vase", 120.0),
    ] {
        assert_eq!(
            cell_after(&answer.message, product),
            Some(revenue),
            "{}",
            answer.message
        );
    }
    assert!(
        answer.message.ends_with("Showing 5 of 6 groups."),
        "{}",
        answer.message
    );
    let chart = answer.chart_config.as_ref().expect("a bar chart");
    assert_eq!(chart.x, "product");
    let bars: Vec<(String, f64)> = chart
        .data
        .iter()
        .map(|r| {
            (
                r["product"].as_str().unwrap_or("").to_owned(),
                r["total revenue"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    assert_eq!(bars[0], ("Desk".to_owned(), 1250.5));
    assert_eq!(bars.len(), 5);
    let query = answer
        .metadata
        .execution_tree
        .root
        .children
        .iter()
        .find_map(|n| n.query.as_ref())
        .expect("the SQL is in the tree");
    assert!(
        query.sql.contains("SUM(\"revenue\")") && query.sql.contains("LIMIT 5"),
        "{}",
        query.sql
    );
    assert_eq!(query.rows, Some(5));
    let version = detail["version"].as_str().expect("version");
    assert_eq!(
        answer.metadata.dataset.as_ref().map(|d| d.version.as_str()),
        Some(version)
    );
    assert!(events
        .iter()
        .any(|t| matches!(&t.event, StreamEvent::Status { message, .. } if message == "Running SQL…")));

    let events = ask_about(&c.builtin, &token, &user, &id, "revenue by month").await;
    let trend = complete_of(&events);
    let points: Vec<(Value, Value)> = trend
        .chart_config
        .as_ref()
        .expect("a line chart")
        .data
        .iter()
        .map(|r| (r["month"].clone(), r["total revenue"].clone()))
        .collect();
    assert_eq!(
        points,
        [
            (json!("2024-01"), json!(1600)),
            (json!("2024-02"), json!(750)),
            (json!("2024-03"), json!(385.5))
        ]
    );
    let calls = logged_calls(&c.builtin, &token, &user, |calls| calls.len() == 2).await;
    assert!(calls[0]["metadata"]["sql"]
        .as_str()
        .is_some_and(|s| s.contains("SUM")));
}

pub async fn chat_over_another_users_dataset_is_not_found(c: Arc<Ctx>) {
    let (owner, other) = (fresh_user("mine"), fresh_user("theirs"));
    let (status, detail) = c.builtin.upload(&token_for(&owner), "private", SHOP).await;
    assert_eq!(status, 201, "{detail}");
    let id = detail["id"].as_str().expect("id");
    let body = json!({ "message": "How many rows?", "session_id": other, "dataset_id": id });
    let (status, _, body) = c
        .builtin
        .post("/api/v1/chat", Some(&token_for(&other)), &body)
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("NOT_FOUND")),
        "{body}"
    );
}

pub async fn privacy_mode_keeps_rows_out_of_prompts_and_logs(c: Arc<Ctx>) {
    let user = fresh_user("private");
    let token = token_for(&user);
    let (status, detail) = c
        .llm
        .upload_with(&token, "secret shop", SHOP, &[("privacy", "true")])
        .await;
    assert_eq!(status, 201, "{detail}");
    assert_eq!(detail["privacy"], true);
    let id = detail["id"].as_str().expect("id");
    let question = format!("Total? [mock:sql=SELECT SUM(\"revenue\") AS total FROM data] {user}");
    let events = ask_about(&c.llm, &token, &user, id, &question).await;
    let answer = complete_of(&events);
    assert!(
        answer.message.contains("| 2735.5 |"),
        "the results the question needs still go: {}",
        answer.message
    );
    let reqs = c.mock.requests_containing(&user);
    let system = reqs[0].body["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(system.contains("`product` | text"), "the schema goes: {system}");
    assert!(
        system.contains("min 15, max 1,000"),
        "aggregate statistics go: {system}"
    );
    for value in ["Desk", "Chair", "Sample rows"] {
        assert!(
            !system.contains(value),
            "{value} leaked into the prompt: {system}"
        );
    }
    let calls = logged_calls(&c.llm, &token, &user, |calls| calls.len() == 2).await;
    assert_eq!(
        calls[1]["prompt_excerpt"],
        "<query results withheld: privacy mode>"
    );

    let (status, updated) = c
        .llm
        .patch(
            &format!("/api/v1/datasets/{id}"),
            &token,
            &json!({"privacy": false}),
        )
        .await;
    assert_eq!((status, &updated["privacy"]), (200, &json!(false)), "{updated}");
}

pub async fn the_sample_is_listed_for_everyone_and_cannot_be_deleted(c: Arc<Ctx>) {
    let token = token_for(&fresh_user("sampler"));
    let (status, list) = c.builtin.get("/api/v1/datasets", Some(&token)).await;
    assert_eq!(status, 200);
    let sample = list["datasets"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["id"] == "sample"))
        .cloned()
        .expect("the sample is listed");
    assert_eq!(
        (sample["builtin"].clone(), sample["row_count"].clone()),
        (json!(true), json!(3000))
    );
    assert_eq!(c.builtin.delete("/api/v1/datasets/sample", &token).await, 403);
    let (status, _) = c
        .builtin
        .get("/api/v1/datasets/sample/rows?limit=2", Some(&token))
        .await;
    assert_eq!(status, 200, "still there");
}

pub async fn every_awkward_csv_uploads_as_the_corpus_expects(c: Arc<Ctx>) {
    let dir = datasage_tests::repo_root().join("tests/fixtures/csv");
    let expected: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"))
            .expect("corpus manifest");
    let token = token_for(&fresh_user("corpus"));
    for case in &expected {
        let file = case["file"].as_str().unwrap_or_default();
        let bytes = std::fs::read(dir.join(file)).expect("corpus file");
        let (status, body) = c.builtin.upload(&token, file, bytes).await;
        if let Some(code) = case["error"].as_str() {
            assert_eq!(status, 400, "{file}: {body}");
            assert_eq!(body["error"]["reason"], code, "{file}");
            assert_eq!(body["error"]["line"], case["line"], "{file}");
            continue;
        }
        assert_eq!(status, 201, "{file}: {body}");
        assert_eq!(body["row_count"], case["rows"], "{file}");
        for (name, ty) in case["types"].as_object().into_iter().flatten() {
            assert_eq!(column(&body, name)["type"], *ty, "{file}: {name}");
        }
        if let Some([row, name, value]) = case["cell"].as_array().map(Vec::as_slice) {
            let id = body["id"].as_str().unwrap_or_default();
            let path = format!(
                "/api/v1/datasets/{id}/rows?offset={}&limit=1",
                row.as_u64().unwrap_or(0)
            );
            let (_, page) = c.builtin.get(&path, Some(&token)).await;
            let col = page["columns"]
                .as_array()
                .and_then(|cs| cs.iter().position(|c| c == name))
                .expect("column in the preview");
            let stored = match &page["rows"][0][col] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(Some(stored.as_str()), value.as_str(), "{file}: stored as read");
        }
    }
    let (_, list) = c.builtin.get("/api/v1/datasets", Some(&token)).await;
    let stored = expected.iter().filter(|c| c["error"].is_null()).count();
    assert_eq!(own(&list).len(), stored, "every refused file left nothing behind");
}

/// `POST /api/v1/datasets` with a multipart form.
async fn upload_form(api: &Api, token: &str, form: reqwest::multipart::Form) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(api.url("/api/v1/datasets"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn a_form_upload_streams_its_file_part_with_its_fields(c: Arc<Ctx>) {
    let token = token_for(&fresh_user("form"));
    let form = reqwest::multipart::Form::new()
        .text("name", "Shop from a form")
        .text("privacy", "true")
        .part(
            "file",
            reqwest::multipart::Part::bytes(SHOP.to_vec())
                .file_name("shop.csv")
                .mime_str("text/csv")
                .expect("mime"),
        );
    let (status, detail) = upload_form(&c.builtin, &token, form).await;
    assert_eq!(status, 201, "{detail}");
    assert_eq!(
        (&detail["name"], &detail["privacy"], &detail["row_count"]),
        (&json!("Shop from a form"), &json!(true), &json!(10))
    );
    assert_eq!(column(&detail, "revenue")["type"], "float");

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"a,b\n1,2\n3,4\n".to_vec()).file_name("named by file.csv"),
    );
    let (_, detail) = upload_form(&c.builtin, &token, form).await;
    assert_eq!(detail["name"], "named by file.csv", "{detail}");

    // A form cut off before its closing boundary is refused, and nothing is stored.
    let truncated =
        b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n\r\na,b\n1,2\n"
            .to_vec();
    let resp = reqwest::Client::new()
        .post(c.builtin.url("/api/v1/datasets"))
        .bearer_auth(&token)
        .header("content-type", "multipart/form-data; boundary=B")
        .body(truncated)
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("closing boundary")),
        "{body}"
    );
    let (_, list) = c.builtin.get("/api/v1/datasets", Some(&token)).await;
    assert_eq!(own(&list).len(), 2);
}

/// Through `wrangler dev`, the built-in analyst on an upload shaped like a public weather file: dates
/// written `2012/01/01` are dates, a named category value filters, a comparison filters, a share is
/// computed, and what it cannot compute is refused — each number checked against the rows here.
pub async fn the_builtin_analyst_filters_reads_slash_dates_computes_shares_and_refuses_the_rest(c: Arc<Ctx>) {
    let user = fresh_user("weather");
    let token = token_for(&user);
    let mut csv = String::from("date,precipitation,temp_max,weather\n");
    let mut rows = Vec::new();
    for d in 0..60u32 {
        let row = (
            2012 + d / 30,
            1 + d % 28,
            d % 4,
            10 + d % 9,
            ["rain", "sun", "fog"][(d % 3) as usize],
        );
        csv.push_str(&format!(
            "{}/01/{:02},{}.5,{},{}\n",
            row.0, row.1, row.2, row.3, row.4
        ));
        rows.push(row);
    }
    let (status, detail) = c.builtin.upload(&token, "weather", csv.into_bytes()).await;
    assert_eq!(status, 201, "{detail}");
    assert_eq!(column(&detail, "date")["type"], "date");
    let id = detail["id"].as_str().expect("id").to_owned();
    let ask = |q: &'static str| ask_about(&c.builtin, &token, &user, &id, q);

    let events = ask("What is the total precipitation by year?").await;
    let answer = complete_of(&events);
    let in_2013: f64 = rows
        .iter()
        .filter(|r| r.0 == 2013)
        .map(|r| f64::from(r.2) + 0.5)
        .sum();
    let in_2013 = datasage_shared::analyst::format::number(in_2013);
    assert!(
        answer.message.contains(&format!("| 2013 | {in_2013} |")),
        "{}",
        answer.message
    );
    let tree = serde_json::to_string(&answer.metadata.execution_tree).unwrap_or_default();
    assert!(
        tree.contains("strftime('%Y'"),
        "the SQL is in the tree: {tree:.600}"
    );

    let events = ask("How many days had rain?").await;
    let rainy = rows.iter().filter(|r| r.4 == "rain").count();
    assert!(
        complete_of(&events)
            .message
            .contains(&format!("on **{rainy} days**")),
        "{:?}",
        complete_of(&events).message
    );

    let events = ask("How many days with temp_max over 15?").await;
    let hot = rows.iter().filter(|r| r.3 > 15).count();
    assert!(
        complete_of(&events)
            .message
            .contains(&format!("on **{hot} days**")),
        "{:?}",
        complete_of(&events).message
    );

    // A share of the rows, computed: the percentage and both counts.
    let events = ask("What share of days had rain?").await;
    let answer = complete_of(&events);
    let share = format!("{:.1}%", rainy as f64 * 100.0 / rows.len() as f64);
    assert!(
        answer
            .message
            .starts_with(&format!("**{share}** of the number of rows")),
        "{}",
        answer.message
    );
    assert!(
        answer.message.contains(&format!("**{rainy}** of **60**")),
        "{}",
        answer.message
    );

    // What it cannot compute is refused at low confidence, with no number in its place.
    let events = ask("What is the median temp_max?").await;
    assert_eq!(
        complete_of(&events).confidence,
        datasage_shared::api::Confidence::Low,
        "{}",
        complete_of(&events).message
    );
}

/// The corpus file `name`'s rows, split on commas (the corpus files quote nothing).
fn corpus_rows(csv: &str) -> Vec<Vec<&str>> {
    csv.lines().skip(1).map(|l| l.split(',').collect()).collect()
}

/// Uploads a corpus file for a fresh user; its id and the user's token.
async fn upload_corpus(c: &Ctx, name: &str, csv: &'static str) -> (String, String, String) {
    let user = fresh_user(name);
    let token = token_for(&user);
    let (status, detail) = c.builtin.upload(&token, name, csv.as_bytes().to_vec()).await;
    assert_eq!(status, 201, "{detail}");
    let id = detail["id"].as_str().expect("id").to_owned();
    (user, token, id)
}

/// The answer's text and the SQL its tree shows.
async fn answer_and_sql(c: &Ctx, (user, token, id): &(String, String, String), q: &str) -> (String, String) {
    let events = ask_about(&c.builtin, token, user, id, q).await;
    let answer = complete_of(&events);
    let tree = serde_json::to_string(&answer.metadata.execution_tree).unwrap_or_default();
    (answer.message.clone(), tree)
}

/// A handful of the analyst corpus through `wrangler dev`: each corpus file uploaded as a user would,
/// each question's figure counted here from the file's rows, and the query that computed it in the tree.
pub async fn corpus_questions_are_answered_end_to_end_with_their_sql_in_the_tree(c: Arc<Ctx>) {
    use datasage_shared::analyst::format::number;
    let generation = include_str!("../corpus/generation.csv");
    let rows = corpus_rows(generation);
    let at = |year: &str, source: &str| -> f64 {
        rows.iter()
            .find(|r| r[0] == year && r[1] == source)
            .and_then(|r| r[2].parse().ok())
            .unwrap_or(f64::NAN)
    };
    let upload = upload_corpus(&c, "generation", generation).await;
    let (text, tree) = answer_and_sql(&c, &upload, "Which source grew the most?").await;
    let grew = at("2017", "Renewables") - at("2001", "Renewables");
    assert!(
        text.starts_with("**Renewables** grew the most") && text.contains(&format!("**+{}**", number(grew))),
        "{text}"
    );
    assert!(
        tree.contains("first_period"),
        "the growth query is in the tree: {tree:.800}"
    );

    let (text, _) = answer_and_sql(&c, &upload, "What share of net generation was Nuclear?").await;
    let total: f64 = rows.iter().filter_map(|r| r[2].parse::<f64>().ok()).sum();
    let nuclear: f64 = rows
        .iter()
        .filter(|r| r[1] == "Nuclear")
        .filter_map(|r| r[2].parse::<f64>().ok())
        .sum();
    assert!(
        text.starts_with(&format!("**{:.1}%**", nuclear / total * 100.0)),
        "{text}"
    );

    let monthly = include_str!("../corpus/monthly.csv");
    let upload = upload_corpus(&c, "monthly", monthly).await;
    let (text, tree) = answer_and_sql(&c, &upload, "Units sold in Jan 2023").await;
    let sold: f64 = corpus_rows(monthly)
        .iter()
        .filter(|r| r[0] == "Jan 2023")
        .filter_map(|r| r[2].parse::<f64>().ok())
        .sum();
    assert!(text.contains(&format!("**{}**", number(sold))), "{text}");
    assert!(
        tree.contains(r#"\"month\" >= '2023-01-01'"#),
        "month names are dates: {tree:.800}"
    );

    let airports = include_str!("../corpus/airports.csv");
    let upload = upload_corpus(&c, "airports", airports).await;
    let (text, tree) = answer_and_sql(&c, &upload, "How many airports are in NY?").await;
    let in_ny = corpus_rows(airports).iter().filter(|r| r[3] == "NY").count();
    assert!(text.contains(&format!("**{in_ny} different airport**")), "{text}");
    assert!(tree.contains(r#"\"state\" = 'NY'"#), "{tree:.800}");
    let rows = corpus_rows(airports);
    let highest = rows
        .iter()
        .filter_map(|r| r[7].parse::<i64>().ok())
        .max()
        .unwrap_or(0);
    let top: Vec<_> = rows.iter().filter(|r| r[7] == highest.to_string()).collect();
    let (text, _) = answer_and_sql(&c, &upload, "Which row has the highest elevation?").await;
    match top.as_slice() {
        [one] => assert!(text.contains(&format!("| Airport | {} |", one[1])), "{text}"),
        tied => assert!(text.starts_with(&format!("{} rows share", tied.len())), "{text}"),
    }

    let events = include_str!("../corpus/events.csv");
    let upload = upload_corpus(&c, "events", events).await;
    let (text, _) = answer_and_sql(&c, &upload, "How many purchases in DE?").await;
    let bought = corpus_rows(events)
        .iter()
        .filter(|r| r[2] == "purchase" && r[5] == "DE")
        .count();
    assert!(text.contains(&format!("**{bought} rows**")), "{text}");
}
