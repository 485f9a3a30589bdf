//! Charts a model asks for, filled with data computed from the table: the model chooses the chart and
//! names the columns; the numbers never come from the model.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::format::label;
use super::stats::{self, Agg};
use super::table::{ColumnType, Table};
use crate::api::{ChartConfig, ChartType};

/// Most groups a chart shows.
pub const MAX_GROUPS: usize = 50;

#[derive(Deserialize)]
struct Spec {
    #[serde(rename = "type")]
    chart_type: ChartType,
    x: String,
    y: String,
    #[serde(default)]
    title: Option<String>,
}

/// Validates a model's `chart_config` against the table and computes its data: `y` summed per `x` value
/// (or rows counted, when `y` is `count`). The error says why a chart was dropped.
pub fn fill(table: &Table, spec: &Json) -> Result<ChartConfig, String> {
    let spec: Spec =
        serde_json::from_value(spec.clone()).map_err(|e| format!("chart_config is not valid: {e}"))?;
    let x = table
        .column(&spec.x)
        .ok_or_else(|| format!("chart x `{}` is not a column", spec.x))?;
    if x.ty.is_numeric() && spec.chart_type != ChartType::Scatter {
        return Err(format!(
            "chart x `{}` is numeric; a category or date column is needed",
            spec.x
        ));
    }
    let (metric, agg, y_label) = if spec.y.eq_ignore_ascii_case("count") {
        (None, Agg::Count, "count".to_owned())
    } else {
        let y = table
            .column(&spec.y)
            .ok_or_else(|| format!("chart y `{}` is not a column", spec.y))?;
        if !y.ty.is_numeric() {
            return Err(format!("chart y `{}` is not numeric", spec.y));
        }
        (Some(y), Agg::Sum, format!("total {}", label(&y.name)))
    };
    let mut groups = stats::group_by(x, metric, agg);
    if x.ty == ColumnType::Date || spec.chart_type == ChartType::Line {
        groups.sort_by(|a, b| a.0.cmp(&b.0)); // chronological, not by size
    }
    if groups.is_empty() {
        return Err("the chart would have no data".into());
    }
    groups.truncate(MAX_GROUPS);
    let data = groups
        .into_iter()
        .map(|(k, v)| {
            let mut row = Map::new();
            row.insert(x.name.clone(), Json::String(k));
            let rounded = (v * 100.0).round() / 100.0;
            row.insert(
                y_label.clone(),
                serde_json::Number::from_f64(rounded).map_or(Json::Null, Json::Number),
            );
            row
        })
        .collect();
    Ok(ChartConfig {
        chart_type: spec.chart_type,
        title: spec
            .title
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| format!("{y_label} by {}", label(&x.name))),
        x: x.name.clone(),
        y: y_label,
        series: None,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t() -> Table {
        Table::from_csv(
            "t",
            "day,region,revenue\n2024-01-02,N,10\n2024-01-01,S,5\n2024-01-02,S,2.5\n",
        )
        .unwrap()
    }

    #[test]
    fn a_valid_spec_gets_computed_data_whatever_numbers_the_model_sent() {
        let spec = json!({"type": "bar", "x": "region", "y": "revenue", "title": "Rev", "data": [{"region": "N", "revenue": 1e9}]});
        let c = fill(&t(), &spec).unwrap();
        assert_eq!(c.title, "Rev");
        assert_eq!(
            c.data,
            vec![
                json!({"region": "N", "total revenue": 10.0})
                    .as_object()
                    .unwrap()
                    .clone(),
                json!({"region": "S", "total revenue": 7.5})
                    .as_object()
                    .unwrap()
                    .clone(),
            ]
        );
    }

    #[test]
    fn dates_are_charted_in_order_and_count_needs_no_column() {
        let c = fill(&t(), &json!({"type": "line", "x": "day", "y": "count"})).unwrap();
        assert_eq!(c.data[0]["day"], "2024-01-01");
        assert_eq!(c.data[1]["count"], json!(2.0));
        assert_eq!(c.title, "count by day");
    }

    #[test]
    fn invalid_specs_are_refused_with_a_reason() {
        let t = t();
        for (spec, why) in [
            (
                json!({"type": "donut", "x": "region", "y": "revenue"}),
                "not valid",
            ),
            (
                json!({"type": "bar", "x": "nope", "y": "revenue"}),
                "`nope` is not a column",
            ),
            (
                json!({"type": "bar", "x": "region", "y": "region"}),
                "not numeric",
            ),
            (
                json!({"type": "bar", "x": "revenue", "y": "revenue"}),
                "is numeric",
            ),
            (json!("bar chart please"), "not valid"),
        ] {
            let err = fill(&t, &spec).unwrap_err();
            assert!(err.contains(why), "{spec}: {err}");
        }
    }
}
