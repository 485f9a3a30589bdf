//! An answer's chart, drawn as SVG by plotters from the `chart_config` the worker filled with query rows.
//! Colours are set from the stylesheet (the SVG's own fills are overridden), so charts follow the theme.
//! Each bar, point or slice gets a transparent hover target, placed with the chart's own coordinate
//! mapping, that shows its label and value.

use datasage_shared::analyst::chart::{lines, points, Lines};
use datasage_shared::analyst::format::number;
use datasage_shared::api::{ChartConfig, ChartType};
use datasage_shared::query::display;
use leptos::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;

const PALETTE: [RGBColor; 6] = [
    RGBColor(79, 70, 229),
    RGBColor(14, 165, 233),
    RGBColor(16, 185, 129),
    RGBColor(245, 158, 11),
    RGBColor(239, 68, 68),
    RGBColor(168, 85, 247),
];
/// Characters of an axis label before it is cut, where there is room for them.
const LABEL_CHARS: usize = 14;
/// Around the plot, on every side.
const MARGIN: u32 = 12;
/// The value axis with its labels, left of the plot.
const VALUE_AXIS: u32 = 76;
/// About how wide one character of a label is, in pixels.
const CHAR_PX: f64 = 7.0;

/// The picture's size in CSS pixels. It is drawn as wide as the answer is on this screen (at most 640), so
/// its text keeps its real size on a phone instead of being scaled down with the picture.
#[derive(Clone, Copy)]
struct Frame {
    width: u32,
    height: u32,
}

impl Frame {
    fn for_viewport(viewport: f64) -> Self {
        // The conversation's and the answer's padding take about 66 px beside the chart.
        let width = (viewport - 66.0).clamp(280.0, 640.0) as u32;
        Self {
            width,
            height: (width * 9 / 16).max(240),
        }
    }

    fn of_this_screen() -> Self {
        let viewport = web_sys::window()
            .and_then(|w| w.inner_width().ok())
            .and_then(|w| w.as_f64())
            .unwrap_or(1024.0);
        Self::for_viewport(viewport)
    }

    /// How many ticks the value axis gets: about one per 36 px of height, so their labels never crowd.
    fn value_ticks(self) -> usize {
        (self.height / 36).max(4) as usize
    }

    fn plot_width(self) -> u32 {
        self.width.saturating_sub(VALUE_AXIS + 2 * MARGIN)
    }

    /// Of `n` categories, every `step`-th is labelled and a label keeps at most `chars` characters, so
    /// labels never run into each other.
    fn category_labels(self, n: usize) -> (usize, usize) {
        let plot = f64::from(self.plot_width());
        let fit = ((plot / 44.0) as usize).clamp(3, 12);
        let step = n.div_ceil(fit).max(1);
        let room = plot * step as f64 / n.max(1) as f64;
        let chars = ((room / CHAR_PX) as usize).clamp(4, LABEL_CHARS);
        (step, chars)
    }
}

#[component]
pub fn ChartView(config: ChartConfig) -> impl IntoView {
    if config.chart_type == ChartType::Table {
        return table(&config).into_any();
    }
    let label = format!("{} ({} points)", config.title, config.data.len());
    match render(&config, Frame::of_this_screen()) {
        Ok(svg) => view! {
            <figure class="chart" role="img" aria-label=label inner_html=svg></figure>
        }
        .into_any(),
        Err(why) => {
            view! { <p class="chart-error">{format!("The chart could not be drawn: {why}")}</p> }.into_any()
        }
    }
}

fn table(c: &ChartConfig) -> impl IntoView {
    let columns: Vec<String> = c
        .data
        .first()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    let rows: Vec<Vec<String>> = c
        .data
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|k| r.get(k).map(display).unwrap_or_default())
                .collect()
        })
        .collect();
    view! {
        <figure class="chart chart-table">
            <figcaption>{c.title.clone()}</figcaption>
            <table>
                <thead><tr>{columns.into_iter().map(|h| view! { <th>{h}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|r| view! { <tr>{r.into_iter().map(|v| view! { <td>{v}</td> }).collect_view()}</tr> })
                        .collect_view()}
                </tbody>
            </table>
        </figure>
    }
}

fn short(label: &str, chars: usize) -> String {
    if label.chars().count() <= chars {
        label.to_owned()
    } else {
        format!("{}…", label.chars().take(chars - 1).collect::<String>())
    }
}

/// The chart as an SVG document.
fn render(c: &ChartConfig, frame: Frame) -> Result<String, String> {
    let pts = points(c);
    if pts.is_empty() {
        return Err("it has no numeric values".into());
    }
    let mut svg = String::new();
    let hovers = {
        let root = SVGBackend::with_string(&mut svg, (frame.width, frame.height)).into_drawing_area();
        let drawn = match c.chart_type {
            ChartType::Pie => pie(&root, c, &pts, frame),
            ChartType::Line => match lines(c) {
                Some(drawn) => multi_line(&root, c, &drawn, frame),
                None => cartesian(&root, c, &pts, frame, false),
            },
            ChartType::Scatter => scatter(&root, c, &pts, frame),
            ChartType::Bar | ChartType::Table => cartesian(&root, c, &pts, frame, true),
        };
        let hovers = drawn.map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
        hovers
    };
    let end = svg.rfind("</svg>").ok_or("the chart came out empty")?;
    let overlay: String = hovers.iter().map(|h| h.to_svg(frame)).collect();
    svg.insert_str(end, &format!("<g class=\"hover\">{overlay}</g>"));
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = Result<Vec<Hover>, Box<dyn std::error::Error>>;

/// A transparent shape over one mark; hovering it shows the mark's label and value.
struct Hover {
    /// An SVG shape element, self-closing.
    shape: String,
    tip: String,
    /// Where the tip is written (above the mark).
    at: (i32, i32),
}

impl Hover {
    fn new(shape: String, label: &str, value: f64, at: (i32, i32)) -> Self {
        Self {
            shape,
            tip: format!("{label}: {}", number(value)),
            at,
        }
    }

    fn to_svg(&self, frame: Frame) -> String {
        let tip = escape(&self.tip);
        // Kept inside the picture, so a tip at either edge is not cut off.
        let x = self.at.0.clamp(90, (frame.width as i32 - 90).max(90));
        let y = (self.at.1 - 8).max(16);
        format!(
            "<g class=\"hit\">{}<title>{tip}</title><text x=\"{x}\" y=\"{y}\" text-anchor=\"middle\">{tip}</text></g>",
            self.shape
        )
    }
}

/// Text made safe to place in SVG markup (labels come from the data).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn value_range(pts: &[(String, f64)]) -> std::ops::Range<f64> {
    let lo = pts.iter().map(|p| p.1).fold(0.0, f64::min);
    let hi = pts.iter().map(|p| p.1).fold(0.0, f64::max);
    let pad = ((hi - lo) * 0.08).max(1e-9);
    (if lo < 0.0 { lo - pad } else { 0.0 })..(hi + pad)
}

/// Bars (one per point) or a line through the points, over categorical x.
fn cartesian(root: &Area<'_>, c: &ChartConfig, pts: &[(String, f64)], frame: Frame, bars: bool) -> Drawn {
    let n = pts.len();
    let (step, chars) = frame.category_labels(n);
    let labels: Vec<String> = pts.iter().map(|(x, _)| short(x, chars)).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, ("sans-serif", 19))
        .margin(MARGIN)
        .x_label_area_size(44)
        .y_label_area_size(VALUE_AXIS)
        // A segmented range holds one segment per value of `0..=n-1`.
        .build_cartesian_2d((0..n.saturating_sub(1)).into_segmented(), value_range(pts))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .x_desc(&c.x)
        .y_desc(&c.y)
        .x_labels(n)
        .y_labels(frame.value_ticks())
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if i % step == 0 => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| number(*v))
        .draw()?;
    let hovers = pts
        .iter()
        .enumerate()
        .map(|(i, (x, y))| {
            if bars {
                let (x0, y0) = chart.backend_coord(&(SegmentValue::Exact(i), y.max(0.0)));
                let (x1, y1) = chart.backend_coord(&(SegmentValue::Exact(i + 1), y.min(0.0)));
                let shape = format!(
                    "<rect x=\"{x0}\" y=\"{y0}\" width=\"{}\" height=\"{}\"/>",
                    (x1 - x0).max(1),
                    (y1 - y0).max(1)
                );
                Hover::new(shape, x, *y, ((x0 + x1) / 2, y0))
            } else {
                let (cx, cy) = chart.backend_coord(&(SegmentValue::CenterOf(i), *y));
                Hover::new(
                    format!("<circle cx=\"{cx}\" cy=\"{cy}\" r=\"8\"/>"),
                    x,
                    *y,
                    (cx, cy - 6),
                )
            }
        })
        .collect();
    if bars {
        chart.draw_series(pts.iter().enumerate().map(|(i, (_, y))| {
            let mut bar = Rectangle::new(
                [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), *y)],
                PALETTE[0].filled(),
            );
            bar.set_margin(0, 0, 4, 4);
            bar
        }))?;
    } else {
        let at = |i: usize, y: f64| (SegmentValue::CenterOf(i), y);
        chart.draw_series(LineSeries::new(
            pts.iter().enumerate().map(|(i, (_, y))| at(i, *y)),
            PALETTE[0].stroke_width(2),
        ))?;
        chart.draw_series(
            pts.iter()
                .enumerate()
                .map(|(i, (_, y))| Circle::new(at(i, *y), 3, PALETTE[0].filled())),
        )?;
    }
    Ok(hovers)
}

/// A line per series over the shared categorical x, each in its own colour, named in a legend.
fn multi_line(root: &Area<'_>, c: &ChartConfig, drawn: &Lines, frame: Frame) -> Drawn {
    let n = drawn.xs.len();
    let (step, chars) = frame.category_labels(n);
    let labels: Vec<String> = drawn.xs.iter().map(|x| short(x, chars)).collect();
    let values: Vec<(String, f64)> = drawn
        .lines
        .iter()
        .flat_map(|(_, v)| v.iter().flatten().map(|y| (String::new(), *y)))
        .collect();
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, ("sans-serif", 19))
        .margin(MARGIN)
        .x_label_area_size(44)
        .y_label_area_size(VALUE_AXIS)
        .build_cartesian_2d((0..n.saturating_sub(1)).into_segmented(), value_range(&values))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .x_desc(&c.x)
        .y_desc(&c.y)
        .x_labels(n)
        .y_labels(frame.value_ticks())
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if i % step == 0 => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| number(*v))
        .draw()?;
    let mut hovers = Vec::new();
    for (k, (name, line)) in drawn.lines.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let at: Vec<(usize, f64)> = line
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|y| (i, y)))
            .collect();
        let points = at.iter().map(|&(i, y)| (SegmentValue::CenterOf(i), y));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(short(name, LABEL_CHARS))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(3)));
        for (i, y) in at {
            let (cx, cy) = chart.backend_coord(&(SegmentValue::CenterOf(i), y));
            let x = &drawn.xs[i];
            let shape = format!("<circle cx=\"{cx}\" cy=\"{cy}\" r=\"6\"/>");
            hovers.push(Hover::new(shape, &format!("{name}, {x}"), y, (cx, cy - 6)));
        }
    }
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 14))
        .background_style(TRANSPARENT)
        .border_style(TRANSPARENT)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(hovers)
}

/// Points over numeric x (or the row order when x is not a number).
fn scatter(root: &Area<'_>, c: &ChartConfig, pts: &[(String, f64)], frame: Frame) -> Drawn {
    let xy: Vec<(f64, f64)> = pts
        .iter()
        .enumerate()
        .map(|(i, (x, y))| (x.parse().unwrap_or(i as f64), *y))
        .collect();
    let (xlo, xhi) = xy.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    let pad = ((xhi - xlo) * 0.05).max(1e-9);
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, ("sans-serif", 19))
        .margin(MARGIN)
        .x_label_area_size(44)
        .y_label_area_size(VALUE_AXIS)
        .build_cartesian_2d((xlo - pad)..(xhi + pad), value_range(pts))?;
    chart
        .configure_mesh()
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .x_desc(&c.x)
        .y_desc(&c.y)
        .x_labels((frame.plot_width() / 70).max(3) as usize)
        .y_labels(frame.value_ticks())
        .x_label_formatter(&|v| number(*v))
        .y_label_formatter(&|v| number(*v))
        .draw()?;
    chart.draw_series(
        xy.iter()
            .map(|p| Circle::new(*p, 4, PALETTE[0].mix(0.7).filled())),
    )?;
    Ok(pts
        .iter()
        .zip(&xy)
        .map(|((x, y), p)| {
            let (cx, cy) = chart.backend_coord(p);
            Hover::new(
                format!("<circle cx=\"{cx}\" cy=\"{cy}\" r=\"8\"/>"),
                x,
                *y,
                (cx, cy - 6),
            )
        })
        .collect())
}

/// Slices for the positive values, largest first as given.
fn pie(root: &Area<'_>, c: &ChartConfig, pts: &[(String, f64)], frame: Frame) -> Drawn {
    let slices: Vec<&(String, f64)> = pts.iter().filter(|p| p.1 > 0.0).collect();
    let titled = root.titled(&c.title, ("sans-serif", 19))?;
    let (w, h) = titled.dim_in_pixel();
    let center = (w as i32 / 2, h as i32 / 2);
    let radius = f64::from(w.min(h)) * 0.36;
    let sizes: Vec<f64> = slices.iter().map(|p| p.1).collect();
    let colors: Vec<RGBColor> = (0..slices.len()).map(|i| PALETTE[i % PALETTE.len()]).collect();
    let total: f64 = sizes.iter().sum();
    let labels: Vec<String> = slices
        .iter()
        .map(|(x, y)| {
            // Labels stand outside the pie, so a narrow picture has room for fewer characters.
            let chars = if frame.width < 480 { 9 } else { LABEL_CHARS };
            format!("{} ({:.0}%)", short(x, chars), y / total * 100.0)
        })
        .collect();
    let mut pie = Pie::new(&center, &radius, &sizes, &colors, &labels);
    pie.label_style(("sans-serif", 15).into_font());
    titled.draw(&pie)?;
    // The same wedges as plotters draws them: from angle 0 (pointing right), clockwise.
    let (left, top) = titled.get_base_pixel();
    let (cx, cy) = (f64::from(left + center.0), f64::from(top + center.1));
    let at = |theta: f64, r: f64| (cx + r * theta.cos(), cy + r * theta.sin());
    let mut start = 0.0;
    Ok(slices
        .iter()
        .map(|(x, y)| {
            let sweep = y / total * std::f64::consts::TAU;
            let (a, b) = (at(start, radius), at(start + sweep, radius));
            let mid = at(start + sweep / 2.0, radius * 0.6);
            let large = i32::from(sweep > std::f64::consts::PI);
            let shape = if slices.len() == 1 {
                format!("<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{radius:.1}\"/>")
            } else {
                format!(
                    "<path d=\"M{cx:.1},{cy:.1} L{:.1},{:.1} A{radius:.1},{radius:.1} 0 {large} 1 {:.1},{:.1} Z\"/>",
                    a.0, a.1, b.0, b.1
                )
            };
            start += sweep;
            Hover::new(shape, x, *y, (mid.0 as i32, mid.1 as i32))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wasm_bindgen_test::*;

    use super::*;
    use crate::test_support::{mount, settle};

    wasm_bindgen_test_configure!(run_in_browser);

    fn config(chart_type: ChartType) -> ChartConfig {
        let rows = json!([
            {"region": "West", "revenue": 1250.5},
            {"region": "East", "revenue": 980},
            {"region": "North <b>", "revenue": 310.25},
        ]);
        ChartConfig {
            chart_type,
            x: "region".into(),
            y: "revenue".into(),
            series: None,
            title: "Revenue by region".into(),
            data: serde_json::from_value(rows).expect("rows"),
        }
    }

    #[wasm_bindgen_test]
    async fn every_chart_type_renders_its_points_with_title_axes_and_hover_values() {
        for kind in [
            ChartType::Bar,
            ChartType::Line,
            ChartType::Scatter,
            ChartType::Pie,
        ] {
            let c = config(kind);
            let page = mount(move || view! { <ChartView config=c/> });
            settle().await;
            assert!(page.has("figure.chart svg"), "{kind:?}: {}", page.html());
            assert!(page.text().contains("Revenue by region"), "{kind:?}: the title");
            assert_eq!(
                page.count("svg .hover .hit"),
                3,
                "{kind:?}: one hover target per point"
            );
            assert_eq!(
                page.texts("svg .hover .hit title"),
                ["West: 1,250.50", "East: 980", "North <b>: 310.25"],
                "{kind:?}: values on hover, labels as text"
            );
            assert!(!page.has("svg b"), "{kind:?}: a label never becomes markup");
            if kind != ChartType::Pie {
                assert!(
                    page.text().contains("region") && page.text().contains("revenue"),
                    "{kind:?}: axis labels"
                );
            }
        }
    }

    #[wasm_bindgen_test]
    async fn a_trend_split_by_source_draws_a_line_per_source_named_in_a_legend() {
        let rows = json!([
            {"year": 2001, "source": "Coal", "v": 10},
            {"year": 2001, "source": "Wind", "v": 1},
            {"year": 2002, "source": "Coal", "v": 9},
            {"year": 2002, "source": "Wind", "v": 3},
        ]);
        let c = ChartConfig {
            chart_type: ChartType::Line,
            x: "year".into(),
            y: "v".into(),
            series: Some("source".into()),
            title: "V by year and source".into(),
            data: serde_json::from_value(rows).expect("rows"),
        };
        let page = mount(move || view! { <ChartView config=c/> });
        settle().await;
        assert_eq!(
            page.texts("svg .hover .hit title"),
            [
                "Coal, 2001: 10",
                "Coal, 2002: 9",
                "Wind, 2001: 1",
                "Wind, 2002: 3"
            ]
        );
        let text = page.text();
        assert!(
            text.contains("Coal") && text.contains("Wind"),
            "the legend: {text}"
        );
        assert_eq!(
            page.count(r##"svg polyline:not([stroke="#000000"])"##),
            2 + 2,
            "two coloured lines and their two legend marks (the axes are black): {}",
            page.html()
        );
    }

    #[wasm_bindgen_test]
    async fn on_a_phone_a_chart_keeps_readable_text_and_its_labels_never_run_together() {
        // Category labels stand side by side, value labels one above the other; neither may touch.
        let mut c = config(ChartType::Bar);
        let names = [
            "Electronics and Gadgets",
            "Furniture",
            "Clothing and Shoes",
            "Groceries",
            "Office Supplies",
            "Garden",
            "Toys",
        ];
        c.data = names
            .iter()
            .zip(1..)
            .map(|(n, v)| serde_json::from_value(json!({"region": n, "revenue": v * 1350})).expect("row"))
            .collect();
        let phone = Frame::for_viewport(390.0);
        let svg = render(&c, phone).expect("drawn");
        let page = mount(
            move || view! { <div style="width: 390px"><figure class="chart" inner_html=svg></figure></div> },
        );
        settle().await;
        assert_eq!(
            page.attrs("svg", "width"),
            [phone.width.to_string()],
            "drawn at the phone's width"
        );
        let labels: Vec<web_sys::DomRect> = page
            .all("svg > text")
            .into_iter()
            .filter(|t| {
                let text = t.text_content().unwrap_or_default().trim().to_owned();
                !text.is_empty() && names.iter().any(|n| n.starts_with(text.trim_end_matches('…')))
            })
            .map(|t| {
                let size: f64 = t
                    .get_attribute("font-size")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0.0);
                assert!(size >= 12.0, "label text at {size} px");
                t.get_bounding_client_rect()
            })
            .collect();
        assert!(labels.len() >= 3, "some categories are labelled: {}", page.html());
        for pair in labels.windows(2) {
            assert!(
                pair[0].right() <= pair[1].left(),
                "labels overlap: {} > {}",
                pair[0].right(),
                pair[1].left()
            );
        }
        let mut values: Vec<web_sys::DomRect> = page
            .all("svg > text")
            .into_iter()
            .filter(|t| {
                let text = t.text_content().unwrap_or_default();
                let text = text.trim();
                !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == ',')
            })
            .map(|t| t.get_bounding_client_rect())
            .collect();
        values.sort_by(|a, b| a.top().total_cmp(&b.top()));
        assert!(values.len() >= 4, "the value axis is labelled");
        for pair in values.windows(2) {
            assert!(
                pair[0].bottom() + 4.0 <= pair[1].top(),
                "value labels crowd: {} then {}",
                pair[0].bottom(),
                pair[1].top()
            );
        }
    }

    #[wasm_bindgen_test]
    async fn a_table_chart_lists_every_row() {
        let c = config(ChartType::Table);
        let page = mount(move || view! { <ChartView config=c/> });
        settle().await;
        assert_eq!(page.texts("figcaption"), ["Revenue by region"]);
        assert_eq!(page.count("tbody tr"), 3);
        assert_eq!(page.texts("tbody tr:first-child td"), ["West", "1,250.50"]);
    }

    #[wasm_bindgen_test]
    async fn a_chart_without_numbers_says_why_instead_of_drawing_nothing() {
        let mut c = config(ChartType::Bar);
        c.y = "missing".into();
        let page = mount(move || view! { <ChartView config=c/> });
        settle().await;
        assert!(page.text().contains("could not be drawn"), "{}", page.html());
    }
}
