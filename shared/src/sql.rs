//! Validation of model-proposed SQL before it runs on a dataset, with a real SQL parser (sqlparser, SQLite
//! dialect), never with pattern matching.
//!
//! Accepted: exactly one read-only `SELECT` (CTEs allowed, not recursive) whose every relation is the
//! dataset's own table or one of the query's CTEs, calling no function that reaches outside the data. The
//! query is re-printed from its syntax tree — so comments and anything the parser dropped cannot smuggle
//! text through — and wrapped in a row `LIMIT`.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, ObjectName, Query, SetExpr, Statement, Visit, Visitor};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

use crate::schema::ColumnType;

/// The name queries use for the dataset's table, whatever its storage name: short, readable in the
/// execution tree, and the same for every dataset.
pub const TABLE_ALIAS: &str = "data";

/// The statement that runs a query validated against [`TABLE_ALIAS`] on the dataset stored in `table`.
pub fn bind_table(validated: &str, table: &str) -> String {
    format!(
        "WITH {TABLE_ALIAS} AS (SELECT * FROM {}) {validated}",
        quote_ident(table)
    )
}

/// Why a query was refused; the reason is written to be given back to the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query rejected: {reason}")]
pub struct Rejection {
    pub reason: String,
}

fn reject<T>(reason: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection {
        reason: reason.into(),
    })
}

/// Functions that read or write outside the data, or that exist to build huge values.
const DENIED_FUNCTIONS: &[&str] = &[
    "load_extension",
    "readfile",
    "writefile",
    "edit",
    "fts3_tokenizer",
    "zeroblob",
];

/// Validates `sql` against the dataset's `table` and returns the statement to run, limited to `max_rows`.
pub fn validate(sql: &str, table: &str, max_rows: u64) -> Result<String, Rejection> {
    let statements = Parser::parse_sql(&SQLiteDialect {}, sql).map_err(|e| Rejection {
        reason: format!("not valid SQL: {e}"),
    })?;
    let query = match statements.as_slice() {
        [Statement::Query(q)] => q,
        [] => return reject("no statement"),
        [_] => return reject("only a SELECT query may run"),
        _ => return reject("exactly one statement may run"),
    };
    let mut checker = Checker {
        table,
        ctes: Vec::new(),
    };
    if let ControlFlow::Break(r) = query.visit(&mut checker) {
        return Err(r);
    }
    Ok(format!("SELECT * FROM ({query}) LIMIT {max_rows}"))
}

struct Checker<'a> {
    table: &'a str,
    ctes: Vec<String>,
}

fn single_name(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [part] => part.as_ident().map(|i| i.value.to_lowercase()),
        _ => None,
    }
}

impl Visitor for Checker<'_> {
    type Break = Rejection;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Rejection> {
        if let Some(with) = &query.with {
            if with.recursive {
                return ControlFlow::Break(Rejection {
                    reason: "recursive CTEs are not allowed".into(),
                });
            }
            self.ctes
                .extend(with.cte_tables.iter().map(|c| c.alias.name.value.to_lowercase()));
        }
        if !query.locks.is_empty() {
            return ControlFlow::Break(Rejection {
                reason: "locking clauses are not allowed".into(),
            });
        }
        if let SetExpr::Select(select) = query.body.as_ref() {
            if select.into.is_some() {
                return ControlFlow::Break(Rejection {
                    reason: "SELECT INTO writes a table".into(),
                });
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<Rejection> {
        match statement {
            Statement::Query(_) => ControlFlow::Continue(()),
            other => ControlFlow::Break(Rejection {
                reason: format!(
                    "only SELECT may run, not `{}`",
                    other.to_string().split_whitespace().next().unwrap_or("?")
                ),
            }),
        }
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<Rejection> {
        match single_name(relation) {
            Some(name) if name == self.table.to_lowercase() || self.ctes.contains(&name) => {
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Break(Rejection {
                reason: format!(
                    "only the dataset's table `{}` may be queried, not `{relation}`",
                    self.table
                ),
            }),
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Rejection> {
        if let Expr::Function(f) = expr {
            let name = f.name.to_string().to_lowercase();
            if name.starts_with("sqlite_")
                || name.starts_with("pragma_")
                || DENIED_FUNCTIONS.contains(&name.as_str())
            {
                return ControlFlow::Break(Rejection {
                    reason: format!("the function `{name}` is not allowed"),
                });
            }
        }
        ControlFlow::Continue(())
    }
}

/// A SQLite identifier, quoted so any column name (spaces, quotes, keywords) is safe.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The expression turning a staged text column into its inferred type.
pub fn typed_column(name: &str, ty: ColumnType) -> String {
    let c = quote_ident(name);
    match ty {
        ColumnType::Integer => format!("CAST(trim({c}) AS INTEGER) AS {c}"),
        ColumnType::Float => format!("CAST(trim({c}) AS REAL) AS {c}"),
        ColumnType::Boolean => format!(
            "CASE lower(trim({c})) WHEN 'true' THEN 1 WHEN 'yes' THEN 1 WHEN 'false' THEN 0 WHEN 'no' THEN 0 END AS {c}"
        ),
        ColumnType::Date | ColumnType::Datetime => format!("trim({c}) AS {c}"),
        ColumnType::Text => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "ds_sales";

    #[test]
    fn legitimate_analytic_queries_are_accepted_and_limited() {
        let ok = [
            "SELECT COUNT(*) FROM ds_sales",
            "select region, SUM(revenue) AS total from DS_SALES group by region order by total desc limit 5",
            "SELECT strftime('%Y-%m', order_date) AS month, AVG(revenue) FROM ds_sales GROUP BY 1 ORDER BY 1",
            "WITH r AS (SELECT region, SUM(revenue) s FROM ds_sales GROUP BY region) SELECT * FROM r WHERE s > 1000",
            "SELECT product FROM ds_sales WHERE revenue > (SELECT AVG(revenue) FROM ds_sales)",
            "SELECT \"unit price\", CASE WHEN discount > 0 THEN 'yes' ELSE 'no' END FROM \"ds_sales\"",
            "SELECT a.region FROM ds_sales a JOIN ds_sales b ON a.order_id = b.order_id",
            "SELECT region FROM ds_sales UNION SELECT category FROM ds_sales",
            "SELECT COUNT(*) FROM ds_sales; ",
        ];
        for q in ok {
            let out = validate(q, T, 1000).unwrap_or_else(|e| panic!("{q}: {e}"));
            assert!(
                out.starts_with("SELECT * FROM (") && out.ends_with(") LIMIT 1000"),
                "{out}"
            );
        }
    }

    #[test]
    fn any_column_name_quotes_safely() {
        assert_eq!(quote_ident("unit \"price\""), "\"unit \"\"price\"\"\"");
        let q = format!("SELECT {} FROM ds_sales", quote_ident("a\"; DROP TABLE x; --"));
        assert!(
            validate(&q, T, 5).is_ok(),
            "one identifier, not a second statement"
        );
    }

    #[test]
    fn comments_do_not_survive_into_what_runs() {
        let out = validate("SELECT 1 FROM ds_sales -- ; DROP TABLE x\n/* hi */", T, 10).unwrap();
        assert!(!out.contains("DROP") && !out.contains("hi"), "{out}");
    }

    #[test]
    fn attacks_are_rejected() {
        let attacks = [
            "DROP TABLE ds_sales",
            "DELETE FROM ds_sales",
            "UPDATE ds_sales SET revenue = 0",
            "INSERT INTO ds_sales VALUES (1)",
            "CREATE TABLE x (a)",
            "ALTER TABLE ds_sales ADD COLUMN x",
            "SELECT 1 FROM ds_sales; DROP TABLE ds_sales",
            "SELECT 1 FROM ds_sales; SELECT 2 FROM ds_sales",
            "ATTACH DATABASE 'x.db' AS x",
            "PRAGMA table_info(ds_sales)",
            "SELECT * FROM sqlite_master",
            "SELECT * FROM sqlite_schema",
            "SELECT * FROM llm_calls",
            "SELECT * FROM main.ds_sales",
            "SELECT * FROM other_db.ds_sales",
            "SELECT * FROM ds_sales JOIN sessions ON 1 = 1",
            "SELECT * FROM ds_sales WHERE order_id IN (SELECT id FROM chat_messages)",
            "WITH x AS (SELECT * FROM users) SELECT * FROM x",
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT * FROM n",
            "SELECT * FROM pragma_table_info('ds_sales')",
            "SELECT load_extension('evil')",
            "SELECT sqlite_version() FROM ds_sales",
            "SELECT zeroblob(1000000000) FROM ds_sales",
            "SELECT 1 FROM ds_sales /* ; */ ; DELETE FROM ds_sales",
            "VACUUM",
            "",
            "not sql at all",
        ];
        for q in attacks {
            assert!(validate(q, T, 1000).is_err(), "accepted: {q}");
        }
        let why = validate("SELECT * FROM llm_calls", T, 10).unwrap_err();
        assert!(
            why.reason.contains("only the dataset's table `ds_sales`"),
            "{why}"
        );
    }
}
