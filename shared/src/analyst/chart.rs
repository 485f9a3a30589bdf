//! Charts a model asks for, filled with the rows its queries returned: the model chooses the chart and
//! names the result columns; the numbers never come from the model.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::api::{ChartConfig, ChartType};
use crate::query::QueryResult;
use crate::text::excerpt;

/// Most points a chart shows, the longest text value a point keeps, and the most bytes of data a chart
/// carries: query rows can hold long text, and a chart goes into the answer, the stream and the store.
pub const MAX_POINTS: usize = 500;
pub const MAX_LABEL_CHARS: usize = 200;
pub const MAX_CHART_BYTES: usize = 64 * 1024;

/// A chart filled from query rows, and what its bounds cut (for the execution tree).
#[derive(Debug)]
pub struct Filled {
    pub chart: ChartConfig,
    pub cut: Option<String>,
}

/// Chart points within [`MAX_POINTS`], [`MAX_LABEL_CHARS`] and [`MAX_CHART_BYTES`], and what was cut.
pub fn bounded_points(
    rows: impl Iterator<Item = Map<String, Json>>,
) -> (Vec<Map<String, Json>>, Option<String>) {
    let (mut data, mut bytes, mut labels_cut) = (Vec::new(), 0, 0);
    for mut point in rows {
        if data.len() == MAX_POINTS {
            return (
                data,
                Some(format!("only the first {MAX_POINTS} points are shown")),
            );
        }
        for v in point.values_mut() {
            if let Json::String(s) = v {
                if s.chars().nth(MAX_LABEL_CHARS).is_some() {
                    *s = excerpt(s, MAX_LABEL_CHARS);
                    labels_cut += 1;
                }
            }
        }
        bytes += point
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(8, str::len) + 4)
            .sum::<usize>();
        if bytes > MAX_CHART_BYTES {
            let why = format!(
                "only the first {} points are shown: the data is over {} KB",
                data.len(),
                MAX_CHART_BYTES / 1024
            );
            return (data, Some(why));
        }
        data.push(point);
    }
    let cut =
        (labels_cut > 0).then(|| format!("{labels_cut} label(s) over {MAX_LABEL_CHARS} characters were cut"));
    (data, cut)
}

#[derive(Deserialize)]
struct Spec {
    #[serde(rename = "type")]
    chart_type: ChartType,
    x: String,
    y: String,
    #[serde(default)]
    series: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

/// Validates a model's `chart_config` against the query results (the newest result holding its columns
/// is used) and fills its data from that result's rows. The error says why a chart was dropped.
pub fn fill(results: &[QueryResult], spec: &Json) -> Result<Filled, String> {
    let spec: Spec =
        serde_json::from_value(spec.clone()).map_err(|e| format!("chart_config is not valid: {e}"))?;
    if results.is_empty() {
        return Err("no query ran, so there is no data to chart".into());
    }
    let wanted: Vec<&str> = [
        Some(spec.x.as_str()),
        Some(spec.y.as_str()),
        spec.series.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let r = results
        .iter()
        .rev()
        .find(|r| wanted.iter().all(|c| r.column(c).is_some()))
        .ok_or_else(|| {
            let available: Vec<String> = results
                .iter()
                .flat_map(|r| r.columns.iter().map(|c| format!("`{c}`")))
                .collect();
            format!(
                "no query result has the columns {}; available: {}",
                wanted
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                available.join(", ")
            )
        })?;
    let indexes: Vec<usize> = wanted.iter().filter_map(|c| r.column(c)).collect();
    let y = indexes[1];
    if spec.chart_type != ChartType::Table && !r.rows.iter().any(|row| row[y].is_number()) {
        return Err(format!("chart y `{}` has no numbers", spec.y));
    }
    if r.rows.is_empty() {
        return Err("the chart would have no data".into());
    }
    let (data, cut) = bounded_points(r.rows.iter().map(|row| {
        indexes
            .iter()
            .map(|&i| (r.columns[i].clone(), row[i].clone()))
            .collect()
    }));
    let chart = ChartConfig {
        chart_type: spec.chart_type,
        title: spec
            .title
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| format!("{} by {}", r.columns[y], r.columns[indexes[0]])),
        x: r.columns[indexes[0]].clone(),
        y: r.columns[y].clone(),
        series: spec.series.and(indexes.get(2).map(|&i| r.columns[i].clone())),
        data,
    };
    Ok(Filled { chart, cut })
}

/// The points a chart draws, in order: the `x` value as text and the `y` value; rows whose `y` is not a
/// number are skipped.
pub fn points(c: &ChartConfig) -> Vec<(String, f64)> {
    c.data
        .iter()
        .filter_map(|row| Some((label_of(row.get(&c.x)), row.get(&c.y)?.as_f64()?)))
        .collect()
}

fn label_of(v: Option<&Json>) -> String {
    match v {
        None | Some(Json::Null) => "(empty)".to_owned(),
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Most lines a chart split by a `series` column draws; rows of further series are not drawn.
pub const MAX_SERIES: usize = 12;

/// A chart's lines when it names a `series` column: the `x` values in the order they first appear, and
/// per series (in the order it first appears) its value at each of them, if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Lines {
    pub xs: Vec<String>,
    pub lines: Vec<(String, Vec<Option<f64>>)>,
}

pub fn lines(c: &ChartConfig) -> Option<Lines> {
    let series = c.series.as_ref()?;
    let mut xs: Vec<String> = Vec::new();
    let mut lines: Vec<(String, Vec<(usize, f64)>)> = Vec::new();
    for row in &c.data {
        let Some(y) = row.get(&c.y).and_then(Json::as_f64) else {
            continue;
        };
        let (x, name) = (label_of(row.get(&c.x)), label_of(row.get(series)));
        let at = xs.iter().position(|v| *v == x).unwrap_or_else(|| {
            xs.push(x);
            xs.len() - 1
        });
        match lines.iter().position(|(n, _)| *n == name) {
            Some(i) => lines[i].1.push((at, y)),
            None if lines.len() < MAX_SERIES => lines.push((name, vec![(at, y)])),
            None => {}
        }
    }
    let lines = lines
        .into_iter()
        .map(|(name, points)| {
            let mut values = vec![None; xs.len()];
            points.into_iter().for_each(|(i, y)| values[i] = Some(y));
            (name, values)
        })
        .collect();
    Some(Lines { xs, lines })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn results() -> Vec<QueryResult> {
        vec![
            QueryResult {
                columns: vec!["n".into()],
                rows: vec![vec![json!(5)]],
            },
            QueryResult {
                columns: vec!["product".into(), "revenue".into()],
                rows: vec![vec![json!("Desk"), json!(120.5)], vec![json!("Lamp"), json!(80)]],
            },
        ]
    }

    #[test]
    fn the_chart_data_is_the_query_rows_not_the_models_numbers() {
        let c = fill(
            &results(),
            &json!({"type": "bar", "x": "product", "y": "revenue", "data": [{"product": "Desk", "revenue": 1e9}]}),
        )
        .unwrap()
        .chart;
        assert_eq!(c.chart_type, ChartType::Bar);
        assert_eq!(c.title, "revenue by product");
        assert_eq!(c.data.len(), 2);
        assert_eq!(c.data[0]["revenue"], json!(120.5));
    }

    #[test]
    fn points_are_drawn_in_row_order_skipping_rows_without_a_number() {
        let mut c = fill(
            &results(),
            &json!({"type": "line", "x": "product", "y": "revenue"}),
        )
        .unwrap()
        .chart;
        c.data.push(
            [
                ("product".to_owned(), Json::Null),
                ("revenue".to_owned(), json!("n/a")),
            ]
            .into_iter()
            .collect(),
        );
        c.data.push(
            [("product".to_owned(), json!(7)), ("revenue".to_owned(), json!(1))]
                .into_iter()
                .collect(),
        );
        assert_eq!(
            points(&c),
            vec![
                ("Desk".to_owned(), 120.5),
                ("Lamp".to_owned(), 80.0),
                ("7".to_owned(), 1.0)
            ]
        );
    }

    #[test]
    fn a_chart_of_columns_no_query_returned_is_dropped_with_the_reason() {
        let why = fill(&results(), &json!({"type": "bar", "x": "region", "y": "revenue"})).unwrap_err();
        assert!(
            why.contains("`region`") && why.contains("available: `n`, `product`, `revenue`"),
            "{why}"
        );
        let why = fill(
            &results(),
            &json!({"type": "bar", "x": "revenue", "y": "product"}),
        )
        .unwrap_err();
        assert!(why.contains("no numbers"), "{why}");
        assert!(fill(&[], &json!({"type": "bar", "x": "a", "y": "b"})).is_err());
        assert!(fill(
            &results(),
            &json!({"type": "donut", "x": "product", "y": "revenue"})
        )
        .is_err());
    }

    /// A model naming a column of 1 MB cells once produced a 20 MB answer.
    #[test]
    fn a_chart_of_huge_cells_stays_small_and_says_what_was_cut() {
        let huge = QueryResult {
            columns: vec!["note".into(), "n".into()],
            rows: (0..500)
                .map(|i| vec![json!(format!("{i}{}", "x".repeat(1 << 20))), json!(i)])
                .collect(),
        };
        let filled = fill(&[huge], &json!({"type": "bar", "x": "note", "y": "n"})).unwrap();
        let bytes = serde_json::to_string(&filled.chart.data).unwrap().len();
        assert!(bytes <= MAX_CHART_BYTES + 1_000, "{bytes} bytes");
        assert!(
            filled.chart.data.len() > 100,
            "{} points",
            filled.chart.data.len()
        );
        assert!(filled.cut.unwrap().contains("over 64 KB"));

        let many = QueryResult {
            columns: vec!["k".into(), "n".into()],
            rows: (0..900).map(|i| vec![json!(i), json!(i)]).collect(),
        };
        let filled = fill(&[many], &json!({"type": "line", "x": "k", "y": "n"})).unwrap();
        assert_eq!(filled.chart.data.len(), MAX_POINTS);
        assert_eq!(filled.cut.as_deref(), Some("only the first 500 points are shown"));
    }

    #[test]
    fn a_chart_split_by_a_series_has_a_line_per_value_over_the_shared_x_values() {
        let rows = json!([
            {"year": 2001, "source": "Coal", "v": 10},
            {"year": 2001, "source": "Wind", "v": 1},
            {"year": 2002, "source": "Coal", "v": 9},
        ]);
        let mut c = ChartConfig {
            chart_type: crate::api::ChartType::Line,
            x: "year".into(),
            y: "v".into(),
            series: Some("source".into()),
            title: String::new(),
            data: serde_json::from_value(rows).unwrap(),
        };
        let drawn = lines(&c).unwrap();
        assert_eq!(drawn.xs, ["2001", "2002"]);
        assert_eq!(
            drawn.lines,
            [
                ("Coal".to_owned(), vec![Some(10.0), Some(9.0)]),
                ("Wind".to_owned(), vec![Some(1.0), None])
            ]
        );
        c.data = (0..100)
            .map(|i| serde_json::from_value(json!({"year": 1, "source": i, "v": i})).unwrap())
            .collect();
        assert_eq!(
            lines(&c).unwrap().lines.len(),
            MAX_SERIES,
            "a model's hundred series are bounded"
        );
    }
}
