//! Datasets through real `wrangler dev` and local D1: uploads land whole with a profile and typed columns,
//! bad files are refused with a code and a line and store nothing, and nobody sees another user's data.

use std::sync::Arc;

use datasage_shared::analyst::{stats, Table};
use datasage_tests::client::{fresh_user, token_for};
use serde_json::{json, Value};

use super::Ctx;

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
    assert_eq!(list["datasets"].as_array().map(Vec::len), Some(1));

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
    assert_eq!(list["datasets"], json!([]));
}

pub async fn the_sample_uploaded_profiles_like_an_independent_computation(c: Arc<Ctx>) {
    let csv = std::fs::read(datasage_tests::repo_root().join("data/sample_sales.csv")).expect("sample");
    let table = Table::from_csv("s", std::str::from_utf8(&csv).unwrap_or_default()).expect("sample parses");
    let revenue = stats::numeric_summary(table.column("revenue").expect("revenue")).expect("numbers");
    let token = token_for(&fresh_user("sample"));
    let (status, detail) = c.builtin.upload(&token, "sales", csv).await;
    assert_eq!(status, 201, "{detail}");
    assert_eq!(detail["row_count"], 3000);
    let r = &column(&detail, "revenue")["numeric"];
    assert!((r["mean"].as_f64().unwrap_or(0.0) - revenue.mean).abs() < 1e-6);
    assert_eq!(
        (r["min"].as_f64(), r["max"].as_f64()),
        (Some(revenue.min), Some(revenue.max))
    );
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
    assert_eq!(list["datasets"], json!([]), "nothing half-stored");
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
    assert_eq!(list["datasets"], json!([]));
    let (status, _) = c
        .builtin
        .get(&format!("/api/v1/datasets/{id}"), Some(&owner))
        .await;
    assert_eq!(status, 200, "still there for its owner");
}
