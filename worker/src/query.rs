//! Runs one query over a dataset, whoever wrote it (the built-in analyst or a model): inside the
//! dataset's own object ([`crate::store`]), which validates it, bounds its cost and limits its rows.
//! The answer waits for it at most [`TIME_LIMIT`].

use std::time::Duration;

use datasage_shared::query::QueryResult;
use futures::future::{select, Either};
use worker::{Delay, Env};

use crate::datasets::Dataset;
use crate::store::{self, QueryRequest};
use crate::util::now_ms;

/// How long the answer waits for a query.
const TIME_LIMIT: Duration = Duration::from_secs(5);

/// What running a query came to.
pub struct Executed {
    /// The SQL as it ran: re-printed from its syntax tree, with the row limit (or as written, if refused).
    pub sql: String,
    /// The rows, or why the query was refused or failed, worded for a person and a model alike.
    pub result: Result<QueryResult, String>,
    /// Rows SQLite read for it (0 if it did not run).
    pub rows_read: u64,
    /// What the result bounds cut, if anything.
    pub cut: Option<String>,
    pub duration_ms: u64,
}

pub async fn run(env: &Env, dataset: &Dataset, sql: &str) -> Executed {
    let started = now_ms();
    let request = QueryRequest {
        sql: sql.to_owned(),
        rows: dataset.profile.rows,
    };
    let outcome = match select(
        Box::pin(store::query(env, &dataset.id, &request)),
        Delay::from(TIME_LIMIT),
    )
    .await
    {
        Either::Left((outcome, _)) => outcome,
        Either::Right(_) => {
            return Executed {
                sql: sql.trim().to_owned(),
                result: Err(format!(
                    "the query took longer than {} s; simplify it or aggregate more",
                    TIME_LIMIT.as_secs()
                )),
                rows_read: 0,
                cut: None,
                duration_ms: now_ms().saturating_sub(started),
            }
        }
    };
    let (sql, result, rows_read, cut) = match outcome {
        Ok(o) => match o.result {
            Ok(ran) => (o.sql, Ok(ran.rows), ran.rows_read, ran.cut),
            Err(why) => (o.sql, Err(why), 0, None),
        },
        Err(e) => {
            worker::console_error!("dataset store: {e}");
            (
                sql.trim().to_owned(),
                Err("the query could not run; please try again".to_owned()),
                0,
                None,
            )
        }
    };
    Executed {
        sql,
        result,
        rows_read,
        cut,
        duration_ms: now_ms().saturating_sub(started),
    }
}
