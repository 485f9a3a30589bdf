//! Validation of model-proposed SQL before it runs on a dataset, with a real SQL parser (sqlparser, SQLite
//! dialect), never with pattern matching. This is the second wall: the first is that a query runs inside
//! the dataset's own Durable Object, where no other data exists (see the worker's `dataset_store`).
//!
//! Accepted: exactly one read-only `SELECT` whose every relation is the dataset's table ([`TABLE_ALIAS`])
//! or a CTE visible at that point under SQL's scoping rules, calling only allow-listed functions, with
//! joins that name their condition, and bounded in length, nesting and size. The query is re-printed from
//! its syntax tree — so comments and anything the parser dropped cannot smuggle text through — and
//! wrapped in a row `LIMIT`. Every refusal is a sentence written to be given back to the model.

use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, Expr, Join, JoinConstraint, JoinOperator, ObjectName, Query, Select, Statement,
    TableFactor, Visit, Visitor,
};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

use crate::schema::{ColumnType, DateFormat};

/// The name of the dataset's table, in queries and in storage: short, readable in the execution tree,
/// and the same for every dataset (each dataset lives alone in its own database).
pub const TABLE_ALIAS: &str = "data";

/// Longest query accepted, in bytes. Far above any analytic query; far below what could exhaust the
/// parser's or the runtime's stack (the syntax tree of `1 + 1 + …` is as deep as it is long).
pub const MAX_SQL_BYTES: usize = 6_000;
/// Deepest nesting of expressions (counting through sub-queries).
const MAX_EXPR_DEPTH: usize = 30;
/// Deepest nesting of queries (sub-queries, CTE bodies, parenthesised set operands).
const MAX_QUERY_DEPTH: usize = 6;
/// Most joins in one `FROM`.
const MAX_JOINS: usize = 3;
/// Most table references in the whole query (the dataset's table or a CTE, each time it is named).
const MAX_RELATIONS: usize = 12;
/// The parser's own bound on its recursion.
const PARSER_RECURSION_LIMIT: usize = 20;

/// Functions a query may call: SQLite's aggregates, window functions and the scalar functions analysis
/// needs. Anything else — reading files, loading extensions, building huge values, reading the schema —
/// is refused because it is not listed, not because it was foreseen.
const ALLOWED_FUNCTIONS: &[&str] = &[
    // aggregates
    "count",
    "sum",
    "total",
    "avg",
    "min",
    "max",
    "group_concat",
    "string_agg",
    // window functions
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    // numbers
    "abs",
    "round",
    "ceil",
    "ceiling",
    "floor",
    "trunc",
    "sign",
    "sqrt",
    "pow",
    "power",
    "exp",
    "ln",
    "log",
    "log2",
    "log10",
    "mod",
    "pi",
    "random",
    // text
    "lower",
    "upper",
    "length",
    "trim",
    "ltrim",
    "rtrim",
    "substr",
    "substring",
    "replace",
    "instr",
    "like",
    "glob",
    "unicode",
    // nulls and conditions
    "coalesce",
    "ifnull",
    "nullif",
    "iif",
    "typeof",
    // dates
    "date",
    "time",
    "datetime",
    "julianday",
    "unixepoch",
    "strftime",
];

/// Aggregates whose result grows with their input: over a growing window, one per row, they build
/// quadratic output from a linear scan.
const GROWING_AGGREGATES: &[&str] = &["group_concat", "string_agg"];

/// Why a query was refused; the reason is written to be given back to the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query rejected: {reason}")]
pub struct Rejection {
    pub reason: String,
}

fn rejection(reason: impl Into<String>) -> Rejection {
    Rejection {
        reason: reason.into(),
    }
}

fn refuse<T>(reason: impl Into<String>) -> ControlFlow<Rejection, T> {
    ControlFlow::Break(rejection(reason))
}

/// A query that passed: the statement to run, and what its shape says about its cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// Re-printed from the syntax tree, wrapped in the row limit.
    pub sql: String,
    /// The query names the table once and nothing else: no join, sub-query over it or CTE, so it reads
    /// each row once (sorting and grouping then cost n log n). Its cost needs no probing.
    pub single_scan: bool,
}

/// Validates `sql` and returns the statement to run over [`TABLE_ALIAS`], limited to `max_rows`.
pub fn validate(sql: &str, max_rows: u64) -> Result<Validated, Rejection> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(rejection(format!(
            "the query is {} bytes long; at most {MAX_SQL_BYTES} may run — aggregate in SQL instead of \
             spelling values out",
            sql.len()
        )));
    }
    let statements = Parser::new(&SQLiteDialect {})
        .with_recursion_limit(PARSER_RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| rejection(format!("not valid SQL: {e}")))?;
    let query = match statements.as_slice() {
        [Statement::Query(q)] => q,
        [] => return Err(rejection("no statement")),
        [_] => return Err(rejection("only a SELECT query may run")),
        _ => return Err(rejection("exactly one statement may run")),
    };
    let mut checker = Checker::default();
    if let ControlFlow::Break(r) = query.visit(&mut checker) {
        return Err(r);
    }
    Ok(Validated {
        sql: format!("SELECT * FROM ({query}) LIMIT {max_rows}"),
        single_scan: checker.relations <= 1,
    })
}

/// The statement that runs a validated query over `table` instead of the dataset's table: the CTE
/// shadows [`TABLE_ALIAS`] for the whole query (a query may not define a CTE of that name itself).
pub fn on_table(validated: &str, table: &str) -> String {
    format!(
        "WITH {TABLE_ALIAS} AS (SELECT * FROM {}) {validated}",
        quote_ident(table)
    )
}

/// SQLite folds only ASCII letters when it compares names; so does the validator, so a name cannot
/// look like a CTE here and like a table to SQLite (`K`, the Kelvin sign, lowercases to `k` in Unicode).
fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn single_name(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [part] => part.as_ident().map(|i| fold(&i.value)),
        _ => None,
    }
}

/// The CTEs one query defines, and how far through their definitions the walk is.
struct Scope {
    names: Vec<String>,
    /// The CTE bodies, to recognise them when the walk enters one (compared by address only).
    bodies: Vec<*const Query>,
    /// `names[..visible]` may be named here: a CTE sees only the ones before it, the body sees all.
    visible: usize,
    /// The CTE whose body is being walked: naming it is recursion, whatever the spelling.
    defining: Option<usize>,
    /// Whether this query is a CTE body of the scope below it.
    is_cte_body: bool,
}

/// Walks the whole syntax tree once. Queries push a [`Scope`] on the way in and pop it on the way out,
/// so a name is resolved exactly where SQL resolves it.
#[derive(Default)]
struct Checker {
    scopes: Vec<Scope>,
    expr_depth: usize,
    relations: usize,
}

impl Checker {
    fn enter(&mut self, query: &Query) -> ControlFlow<Rejection> {
        if self.scopes.len() >= MAX_QUERY_DEPTH {
            return refuse(format!(
                "sub-queries are nested more than {MAX_QUERY_DEPTH} deep; use fewer levels"
            ));
        }
        let mut is_cte_body = false;
        if let Some(outer) = self.scopes.last_mut() {
            let next = outer.visible;
            if outer.bodies.get(next).is_some_and(|b| std::ptr::eq(*b, query)) {
                outer.defining = Some(next);
                is_cte_body = true;
            }
        }
        let mut scope = Scope {
            names: Vec::new(),
            bodies: Vec::new(),
            visible: 0,
            defining: None,
            is_cte_body,
        };
        if let Some(with) = &query.with {
            if with.recursive {
                return refuse("recursive CTEs are not allowed");
            }
            for cte in &with.cte_tables {
                let name = fold(&cte.alias.name.value);
                if name == TABLE_ALIAS {
                    return refuse(format!(
                        "`{TABLE_ALIAS}` is the dataset's table; give the CTE another name"
                    ));
                }
                if scope.names.contains(&name) {
                    return refuse(format!("the CTE `{name}` is defined twice"));
                }
                scope.names.push(name);
                scope.bodies.push(&*cte.query);
            }
        }
        self.scopes.push(scope);
        ControlFlow::Continue(())
    }

    fn leave(&mut self) {
        let Some(scope) = self.scopes.pop() else {
            return;
        };
        if scope.is_cte_body {
            if let Some(outer) = self.scopes.last_mut() {
                outer.defining = None;
                outer.visible += 1;
            }
        }
    }

    /// Whether `name` is a CTE in scope here; `Break` when naming it would be recursion or a CTE used
    /// before its definition.
    fn resolve(&self, name: &str) -> ControlFlow<Rejection, bool> {
        for scope in self.scopes.iter().rev() {
            if scope.names[..scope.visible].iter().any(|n| n == name) {
                return ControlFlow::Continue(true);
            }
            if scope.defining.is_some_and(|i| scope.names[i] == name) {
                return refuse(format!(
                    "the CTE `{name}` refers to itself, which SQLite runs as recursion; recursion is not \
                     allowed"
                ));
            }
            if scope.names.iter().any(|n| n == name) {
                return refuse(format!(
                    "the CTE `{name}` is used before its definition; a CTE may use only the ones before it"
                ));
            }
        }
        ControlFlow::Continue(false)
    }
}

impl Visitor for Checker {
    type Break = Rejection;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Rejection> {
        if !query.locks.is_empty() {
            return refuse("locking clauses are not allowed");
        }
        self.enter(query)
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<Rejection> {
        self.leave();
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<Rejection> {
        if select.into.is_some() {
            return refuse("SELECT INTO writes a table");
        }
        if select.from.len() > 1 {
            return refuse(
                "tables listed with commas are a cross join; write `JOIN … ON` with the condition",
            );
        }
        for from in &select.from {
            if from.joins.len() > MAX_JOINS {
                return refuse(format!("at most {MAX_JOINS} joins may run in one FROM"));
            }
            from.joins.iter().try_for_each(check_join)?;
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Rejection> {
        match factor {
            TableFactor::Table { args: Some(_), .. } => {
                refuse("table-valued functions are not allowed; query the dataset's table")
            }
            TableFactor::Table { .. } | TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => {
                ControlFlow::Continue(())
            }
            _ => refuse("only tables, sub-queries and joins may appear in FROM"),
        }
    }

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<Rejection> {
        match statement {
            Statement::Query(_) => ControlFlow::Continue(()),
            other => refuse(format!(
                "only SELECT may run, not `{}`",
                other.to_string().split_whitespace().next().unwrap_or("?")
            )),
        }
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<Rejection> {
        self.relations += 1;
        if self.relations > MAX_RELATIONS {
            return refuse(format!(
                "the query names tables more than {MAX_RELATIONS} times; compute it in fewer steps"
            ));
        }
        let Some(name) = single_name(relation) else {
            return refuse(format!(
                "only the dataset's table `{TABLE_ALIAS}` may be queried, not `{relation}`"
            ));
        };
        if self.resolve(&name)? || name == TABLE_ALIAS {
            return ControlFlow::Continue(());
        }
        refuse(format!(
            "only the dataset's table `{TABLE_ALIAS}` may be queried, not `{relation}`"
        ))
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Rejection> {
        self.expr_depth += 1;
        if self.expr_depth > MAX_EXPR_DEPTH {
            return refuse(format!(
                "expressions are nested more than {MAX_EXPR_DEPTH} deep; simplify the query"
            ));
        }
        if let Expr::Function(f) = expr {
            let name = single_name(&f.name);
            if f.over.is_some() && name.as_deref().is_some_and(|n| GROWING_AGGREGATES.contains(&n)) {
                return refuse(format!(
                    "`{}` over a window builds a string per row as long as the window; use it without OVER",
                    f.name
                ));
            }
            let allowed = name.filter(|n| ALLOWED_FUNCTIONS.contains(&n.as_str()));
            if allowed.is_none() {
                return refuse(format!(
                    "the function `{}` is not allowed; use SQLite's aggregates, window, text, number and \
                     date functions",
                    f.name
                ));
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<Rejection> {
        self.expr_depth = self.expr_depth.saturating_sub(1);
        ControlFlow::Continue(())
    }
}

/// A join must say how its rows match: `ON` a condition over columns, or `USING`. A cross join, a
/// natural join (which silently matches on every shared column) or `ON 1 = 1` multiplies the table.
fn check_join(join: &Join) -> ControlFlow<Rejection> {
    let constraint = match &join.join_operator {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c) => c,
        _ => return refuse("only INNER, LEFT, RIGHT and FULL joins with a condition may run"),
    };
    match constraint {
        JoinConstraint::Using(_) => ControlFlow::Continue(()),
        JoinConstraint::On(condition) if names_a_column(condition) => ControlFlow::Continue(()),
        JoinConstraint::On(_) => refuse("a join condition must compare columns of the joined tables"),
        JoinConstraint::Natural | JoinConstraint::None => refuse(
            "every join needs a condition (`JOIN … ON a.x = b.x`); cross and natural joins may not run",
        ),
    }
}

fn names_a_column(condition: &Expr) -> bool {
    let found = visit_expressions(condition, |e| match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    found.is_break()
}

/// Rows one probe of a query read: its table had `rows` rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probe {
    pub rows: u64,
    pub rows_read: u64,
}

/// Sizes of the probe tables a dataset of `rows` rows keeps (its first rows), smallest first: a query
/// runs over each in turn before it runs over the whole table, and stops at the first pair whose
/// projection is over budget — so a probe never costs more than the projection allowed. Probes go up to
/// 256 rows because at a few rows a query's linear part (building an automatic index, the outer scan)
/// hides its quadratic part: at 32 rows a self-join on a 5-valued column looks like power 1.7, at 256
/// like 1.95.
pub fn probe_sizes(rows: u64) -> Vec<u64> {
    [4, 8, 16, 32, 64, 128, 256]
        .into_iter()
        .filter(|&n| n < rows)
        .collect()
}

/// Rows a query would read over a table of `rows` rows, extrapolated from two probes: the reads grow as
/// a power of the table's size, and that power is measured between the probes (a scan is 1, a self-join
/// or a correlated sub-query 2, …). Clamped to 1–6, so a query never looks cheaper than a scan.
pub fn projected_rows_read(smaller: Probe, larger: Probe, rows: u64) -> f64 {
    let reads = |p: Probe| (p.rows_read.max(1)) as f64;
    let growth = (larger.rows as f64 / smaller.rows.max(1) as f64).max(1.0 + f64::EPSILON);
    let power = ((reads(larger) / reads(smaller)).ln() / growth.ln()).clamp(1.0, 6.0);
    reads(larger) * (rows as f64 / larger.rows.max(1) as f64).max(1.0).powf(power)
}

/// A SQLite identifier, quoted so any column name (spaces, quotes, keywords) is safe.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The expression turning a staged text column into its inferred type; dates become ISO text whichever
/// way `format` says they are written.
pub fn typed_column(name: &str, ty: ColumnType, format: Option<DateFormat>) -> String {
    let c = quote_ident(name);
    match ty {
        ColumnType::Integer => format!("CAST(trim({c}) AS INTEGER) AS {c}"),
        ColumnType::Float => format!("CAST(trim({c}) AS REAL) AS {c}"),
        ColumnType::Boolean => format!(
            "CASE lower(trim({c})) WHEN 'true' THEN 1 WHEN 'yes' THEN 1 WHEN 'false' THEN 0 WHEN 'no' THEN 0 END AS {c}"
        ),
        ColumnType::Date | ColumnType::Datetime => {
            format!("{} AS {c}", format.unwrap_or(DateFormat::Iso).sql(&c))
        }
        ColumnType::Text => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(sql: &str) -> String {
        match validate(sql, 1000) {
            Ok(out) => panic!("accepted: {sql}\n  runs as: {}", out.sql),
            Err(r) => r.reason,
        }
    }

    #[test]
    fn legitimate_analytic_queries_are_accepted_and_limited() {
        let ok = [
            "SELECT COUNT(*) FROM data",
            "select region, SUM(revenue) AS total from DATA group by region order by total desc limit 5",
            "SELECT strftime('%Y-%m', order_date) AS month, AVG(revenue) FROM data GROUP BY 1 ORDER BY 1",
            "WITH r AS (SELECT region, SUM(revenue) s FROM data GROUP BY region) SELECT * FROM r WHERE s > 1000",
            "WITH a AS (SELECT 1 AS x FROM data), b AS (SELECT x FROM a) SELECT * FROM b JOIN a USING (x)",
            "SELECT product FROM data WHERE revenue > (SELECT AVG(revenue) FROM data)",
            "SELECT \"unit price\", CASE WHEN discount > 0 THEN 'yes' ELSE 'no' END FROM \"data\"",
            "SELECT a.region FROM data a JOIN data b ON a.order_id = b.order_id",
            "SELECT region FROM data UNION SELECT category FROM data",
            "SELECT region, revenue, SUM(revenue) OVER (PARTITION BY region ORDER BY order_date) FROM data",
            "SELECT region, ROUND(100.0 * SUM(revenue) / (SELECT SUM(revenue) FROM data), 1) AS share FROM data GROUP BY region",
            "SELECT COALESCE(region, 'none'), COUNT(DISTINCT product) FROM data GROUP BY 1 HAVING COUNT(*) > 2",
            "SELECT CAST(substr(order_date, 1, 4) AS INTEGER) AS y, lag(SUM(revenue)) OVER (ORDER BY 1) FROM data GROUP BY 1",
            "SELECT * FROM (WITH t AS (SELECT region FROM data) SELECT * FROM t) AS x",
            "WITH t AS (SELECT region FROM data) SELECT * FROM (WITH u AS (SELECT region FROM t) SELECT * FROM u)",
            "SELECT COUNT(*) FROM data; ",
        ];
        for q in ok {
            let out = validate(q, 1000).unwrap_or_else(|e| panic!("{q}: {e}")).sql;
            assert!(
                out.starts_with("SELECT * FROM (") && out.ends_with(") LIMIT 1000"),
                "{out}"
            );
        }
    }

    #[test]
    fn any_column_name_quotes_safely() {
        assert_eq!(quote_ident("unit \"price\""), "\"unit \"\"price\"\"\"");
        let q = format!("SELECT {} FROM data", quote_ident("a\"; DROP TABLE x; --"));
        assert!(validate(&q, 5).is_ok(), "one identifier, not a second statement");
    }

    #[test]
    fn comments_do_not_survive_into_what_runs() {
        let out = validate("SELECT 1 FROM data -- ; DROP TABLE x\n/* hi */", 10)
            .unwrap()
            .sql;
        assert!(!out.contains("DROP") && !out.contains("hi"), "{out}");
    }

    #[test]
    fn a_cte_name_is_visible_only_where_sql_says_it_is() {
        let leak =
            "SELECT * FROM (WITH llm_calls AS (SELECT 1) SELECT * FROM llm_calls) JOIN llm_calls USING (id)";
        assert!(reason(leak).contains("not `llm_calls`"), "{}", reason(leak));
        let later = reason("WITH a AS (SELECT * FROM b), b AS (SELECT * FROM data) SELECT * FROM a");
        assert!(later.contains("before its definition"), "{later}");
        let shadow = reason("WITH data AS (SELECT * FROM sqlite_master) SELECT * FROM data");
        assert!(shadow.contains("another name"), "{shadow}");
    }

    #[test]
    fn every_self_referencing_cte_is_refused_whatever_its_spelling() {
        for q in [
            "WITH n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
            "WITH n AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM \"N\") SELECT count(*) FROM n",
            "WITH n AS (SELECT 1 AS i WHERE EXISTS (SELECT 1 FROM (SELECT * FROM n))) SELECT * FROM n",
        ] {
            assert!(reason(q).contains("refers to itself"), "{q}: {}", reason(q));
        }
        assert!(reason("WITH RECURSIVE n AS (SELECT 1) SELECT * FROM n").contains("recursive"));
    }

    #[test]
    fn joins_must_say_how_rows_match() {
        for q in [
            "SELECT count(*) FROM data a, data b",
            "SELECT count(*) FROM data a CROSS JOIN data b",
            "SELECT count(*) FROM data a JOIN data b",
            "SELECT count(*) FROM data a NATURAL JOIN data b",
            "SELECT count(*) FROM data a JOIN data b ON 1 = 1",
        ] {
            let why = reason(q);
            assert!(why.contains("join") || why.contains("JOIN"), "{q}: {why}");
        }
        let many = "SELECT 1 FROM data a JOIN data b USING (x) JOIN data c USING (x) JOIN data d USING (x) JOIN data e USING (x)";
        assert!(reason(many).contains("at most 3 joins"));
    }

    #[test]
    fn only_allow_listed_functions_run() {
        assert!(
            reason("SELECT printf('%.*c', 1000000000, 'x') FROM data").contains("`printf` is not allowed")
        );
        assert!(reason("SELECT main.count(*) FROM data").contains("not allowed"));
        assert!(validate(
            "SELECT Count(*), ROUND(AVG(x), 2), IIF(x > 1, 'a', 'b') FROM data",
            5
        )
        .is_ok());
    }

    #[test]
    fn a_huge_expression_is_refused_before_it_is_parsed() {
        let huge = format!("SELECT 1{} FROM data", " + 1".repeat(50_000));
        assert!(reason(&huge).contains("bytes long"));
        // Just under the length bound, the tree is ~1,400 deep: refused by depth, without a stack overflow
        // on a thread with a quarter of the usual stack.
        let deep = format!("SELECT 1{} FROM data", "+1".repeat((MAX_SQL_BYTES - 30) / 2));
        let why = std::thread::Builder::new()
            .stack_size(512 << 10)
            .spawn(move || validate(&deep, 10).map_err(|r| r.reason))
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert!(why.unwrap_err().contains("nested more than"));
    }

    #[test]
    fn every_attack_in_the_corpus_is_refused_with_a_reason() {
        let corpus = include_str!("../tests/fixtures/sql_attacks.tsv");
        let mut classes = std::collections::BTreeSet::new();
        for line in corpus.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let (class, sql) = line.split_once('\t').expect("class<TAB>sql");
            classes.insert(class);
            assert!(!reason(sql).is_empty(), "{class}: {sql}");
        }
        assert!(classes.len() >= 12, "{classes:?}");
    }

    #[test]
    fn only_a_query_that_names_the_table_once_skips_the_probes() {
        let single = |q: &str| {
            validate(q, 10)
                .map(|v| v.single_scan)
                .unwrap_or_else(|e| panic!("{q}: {e}"))
        };
        assert!(single(
            "SELECT region, SUM(x) FROM data GROUP BY region ORDER BY 2 DESC"
        ));
        assert!(single("SELECT x, SUM(x) OVER (ORDER BY x) FROM data"));
        assert!(!single("SELECT a.x FROM data a JOIN data b USING (x)"));
        assert!(!single("SELECT x FROM data WHERE x > (SELECT AVG(x) FROM data)"));
        assert!(!single("WITH t AS (SELECT x FROM data) SELECT * FROM t"));
        assert!(reason("SELECT group_concat(x) OVER (ORDER BY x) FROM data").contains("without OVER"));
    }

    #[test]
    fn cost_is_projected_from_how_reads_grow_between_probes() {
        let p = |rows, rows_read| Probe { rows, rows_read };
        let scan = projected_rows_read(p(16, 16), p(32, 32), 1_000_000);
        assert!((scan - 1_000_000.0).abs() < 1.0, "{scan}");
        let self_join = projected_rows_read(p(16, 16 * 16 + 16), p(32, 32 * 32 + 32), 100_000);
        assert!(self_join > 5e9, "{self_join}");
        let limited = projected_rows_read(p(16, 5), p(32, 5), 1_000_000);
        assert!(limited < 200_000.0, "a LIMIT stops early: {limited}");
        assert_eq!(probe_sizes(10), vec![4, 8]);
        assert_eq!(probe_sizes(1_000), vec![4, 8, 16, 32, 64, 128, 256]);
    }
}
