//! The dataset Durable Object: one per dataset, its SQLite database holding that dataset's `data`
//! table (and its probe tables) and nothing else. It answers the worker only — it has no route of its
//! own — and trusts nothing in the SQL it is sent.

use datasage_shared::api::ErrorCode;
use datasage_shared::csv::Limits;
use futures::StreamExt;
use serde::Deserialize;
use worker::{durable_object, DurableObject, Env, Method, Request, Response, SqlStorage, State};

use super::protocol::QueryRequest;
use super::{load, run};
use crate::error::{Failure, Result};

/// The bundled sample, served with the app's static assets (`scripts/build-app.sh` copies it there) and
/// loaded into its own object on first use; kept out of the worker's code to keep the bundle small.
const SAMPLE_URL: &str = "https://assets.local/data/sample_sales.csv";
/// Rows a preview page may hold.
const MAX_PAGE: u64 = 500;

#[durable_object(fetch)]
pub struct DatasetStore {
    state: State,
    env: Env,
}

impl DurableObject for DatasetStore {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        Ok(self.route(req).await.unwrap_or_else(Failure::into_response))
    }
}

#[derive(Deserialize)]
struct Page {
    offset: u64,
    limit: u64,
}

fn interrupted() -> Failure {
    Failure::api(ErrorCode::BadRequest, "the upload was interrupted")
}

impl DatasetStore {
    async fn route(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        let url = req.url()?;
        if url.query_pairs().any(|(k, v)| k == "seed" && v == "sample") && !load::is_loaded(&sql)? {
            self.seed_sample(&sql).await?;
        }
        match (req.method(), url.path()) {
            (Method::Post, "/load") => {
                if load::is_loaded(&sql)? {
                    return Err(Failure::Internal(
                        "this dataset object already holds a dataset".into(),
                    ));
                }
                let limits = limits(&req)?;
                let body = req.stream()?.map(|c| c.map_err(|_| interrupted()));
                json(&load::load(&sql, limits, body).await?)
            }
            (Method::Post, "/query") => {
                let request: QueryRequest = req.json().await?;
                json(&run::query(&sql, &request))
            }
            (Method::Get, "/rows") => {
                let page: Page = req.query()?;
                let cursor = sql.exec(
                    "SELECT * FROM data ORDER BY rowid LIMIT ? OFFSET ?",
                    vec![
                        (page.limit.min(MAX_PAGE) as i64).into(),
                        // Bound values cross into JavaScript as numbers: past 2^53 they lose their
                        // value, and no table is that long anyway.
                        (page.offset.min(1 << 53) as i64).into(),
                    ],
                )?;
                let columns = cursor.column_names();
                let rows: Vec<Vec<serde_json::Value>> = cursor
                    .raw()
                    .map(|r| r.map(|vs| vs.into_iter().map(run::json_of).collect()))
                    .collect::<worker::Result<_>>()?;
                json(&datasage_shared::query::QueryResult { columns, rows })
            }
            (Method::Delete, "/") => {
                self.state.storage().delete_all().await?;
                json(&serde_json::json!({}))
            }
            _ => Err(Failure::api(ErrorCode::NotFound, "no such dataset store route")),
        }
    }
}

impl DatasetStore {
    /// Loads the sample from the static assets, with every other event held off meanwhile, so two
    /// first questions cannot both load it (the second finds it loaded).
    async fn seed_sample(&self, sql: &SqlStorage) -> Result<()> {
        let mut resp = self.env.assets("ASSETS")?.fetch(SAMPLE_URL, None).await?;
        if resp.status_code() != 200 {
            return Err(Failure::Internal(format!(
                "the sample asset answered {}",
                resp.status_code()
            )));
        }
        let body = resp.stream()?.map(|c| c.map_err(|_| interrupted()));
        let sql = sql.clone();
        let internal = |e: Failure| worker::Error::RustError(e.to_string());
        self.state
            .block_concurrency_while(async move {
                if load::is_loaded(&sql).map_err(internal)? {
                    return Ok(());
                }
                load::load(&sql, Limits::default(), body)
                    .await
                    .map(|_| ())
                    .map_err(internal)
            })
            .await?;
        Ok(())
    }
}

/// The upload limits the worker sent, with the object's own column limit on top.
fn limits(req: &Request) -> Result<Limits> {
    #[derive(Deserialize)]
    struct Sent {
        max_bytes: u64,
        max_rows: usize,
        max_columns: usize,
        max_field_bytes: usize,
    }
    let sent: Sent = req.query()?;
    Ok(Limits {
        max_bytes: sent.max_bytes,
        max_rows: sent.max_rows,
        max_columns: sent.max_columns.min(load::MAX_COLUMNS),
        max_field_bytes: sent.max_field_bytes,
    })
}

fn json<T: serde::Serialize>(value: &T) -> Result<Response> {
    Ok(Response::from_json(value)?)
}
