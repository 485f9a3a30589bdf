//! The Usage page: the month's spending against the budget with its projection, cost and tokens by day,
//! the breakdowns by provider and model, the costliest conversations (each opens), latency and fallbacks,
//! how many calls' tokens were estimated, unpriced calls apart, and the CSV export.

use datasage_shared::usage::{daily_charts, UsageReport, UsageRow, UsageSummary};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::chart::ChartView;
use super::message;
use crate::usage::{export_csv, Month, Usage};

/// Dollars as the page shows them; nothing spent is "$0".
fn dollars(usd: f64) -> String {
    if usd == 0.0 {
        "$0".to_owned()
    } else {
        message::dollars(usd)
    }
}

/// Conversations listed as the costliest.
const COSTLIEST: usize = 5;

#[component]
pub fn UsagePage(usage: Usage, on_open: Callback<String>) -> impl IntoView {
    usage.load();
    view! {
        <section class="usage" aria-labelledby="usage-title">
            <div class="usage-head">
                <h2 id="usage-title">"Usage"</h2>
                <button class="refresh" on:click=move |_| usage.load() disabled=move || usage.loading.get()>
                    {move || if usage.loading.get() { "Loading…" } else { "Refresh" }}
                </button>
            </div>
            {move || usage.error.get().map(|e| view! { <p class="error-banner" role="alert">{e.explain()}</p> })}
            {move || usage.month.get().map(|m| view! { <MonthView month=m on_open=on_open/> })}
        </section>
    }
}

#[component]
fn MonthView(month: Month, on_open: Callback<String>) -> impl IntoView {
    let (cost, tokens) = daily_charts(&month.by_day, month.range);
    let total = month.by_day.total.clone();
    let exporting = RwSignal::new(None::<String>);
    let range = month.range;
    let export = move |_| {
        exporting.set(Some("Preparing the export…".into()));
        spawn_local(async move {
            let done = export_csv(range).await;
            exporting.set(done.err().map(|e| e.explain()));
        });
    };
    view! {
        <BudgetBar summary=month.summary.clone()/>
        <p class="usage-facts">{facts(&total)}</p>
        <div class="usage-actions">
            <button class="export" on:click=export>"Export CSV"</button>
            <span class="muted" role="status">{move || exporting.get()}</span>
        </div>
        <div class="usage-charts">
            <ChartView config=cost/>
            <ChartView config=tokens/>
        </div>
        <Breakdown title="By provider" report=month.by_provider.clone()/>
        <Breakdown title="By model" report=month.by_model.clone()/>
        <Unpriced report=month.by_model.clone()/>
        <Costliest report=month.by_session on_open=on_open/>
    }
}

/// The month's spending against the budget, the projection marked on the same bar.
#[component]
fn BudgetBar(summary: UsageSummary) -> impl IntoView {
    let reset = summary.reset_at.get(..10).unwrap_or(&summary.reset_at).to_owned();
    let spent = dollars(summary.spent_usd);
    let projected = dollars(summary.projected_usd);
    let calls = format!(
        "{} calls · {} tokens in, {} out",
        summary.calls, summary.input_tokens, summary.output_tokens
    );
    let Some(budget) = summary.budget_usd else {
        return view! {
            <div class="budget">
                <p><strong>{format!("{spent} spent in {}", summary.month)}</strong>" · no monthly budget"</p>
                <p class="muted">{format!("Projected {projected} by the month's end · {calls}")}</p>
            </div>
        }
        .into_any();
    };
    // Shown rounded, and coloured as shown: "100 %" is spent.
    let percent = summary.percent_used.unwrap_or(0.0).round();
    let at = |usd: f64| {
        if budget > 0.0 {
            (usd / budget * 100.0).clamp(0.0, 100.0)
        } else {
            100.0
        }
    };
    let level = match percent {
        p if p >= 100.0 => "spent",
        p if p >= 80.0 => "high",
        _ => "ok",
    };
    view! {
        <div class="budget">
            <p>
                <strong>{format!("{spent} of {} ({percent:.0} %)", dollars(budget))}</strong>
                {format!(" · this month's budget starts over on {reset}")}
            </p>
            <div
                class=format!("budget-bar {level}")
                role="meter"
                aria-label="Budget used"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=format!("{:.0}", percent.min(100.0))
                aria-valuetext=format!("{percent:.0} % used, {projected} projected")
            >
                <span class="used" style=format!("width: {:.1}%", at(summary.spent_usd))></span>
                <span class="projected" style=format!("left: {:.1}%", at(summary.projected_usd)) title="Projected"></span>
            </div>
            <p class="muted">{format!("Projected {projected} by the month's end · {calls}")}</p>
        </div>
    }
    .into_any()
}

/// Latency, fallbacks and estimated token counts over the month.
fn facts(total: &UsageRow) -> String {
    if total.calls == 0 {
        return "No model calls yet this month.".to_owned();
    }
    let share = |n: u64| n as f64 / total.calls as f64 * 100.0;
    format!(
        "Median latency {} ms · {:.0} % of calls were fallbacks · {:.0} % failed · {} of {} calls' token counts \
         were estimated (the provider reported none)",
        total.p50_latency_ms,
        share(total.fallback_calls),
        share(total.failed_calls),
        total.estimated_calls,
        total.calls
    )
}

#[component]
fn Breakdown(title: &'static str, report: UsageReport) -> impl IntoView {
    let rows = report.rows;
    view! {
        <section class="breakdown">
            <h3>{title}</h3>
            // Scrolls sideways on a phone: reachable by keyboard, and named.
            <div class="table-scroll" tabindex="0" role="region" aria-label=title>
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Calls"</th>
                            <th scope="col">"Tokens in / out"</th>
                            <th scope="col">"Cost"</th>
                            <th scope="col">"Median latency"</th>
                            <th scope="col">"Failed"</th>
                            <th scope="col">"Fallbacks"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows
                            .into_iter()
                            .map(|r| view! {
                                <tr>
                                    <td>{r.key}</td>
                                    <td>{r.calls}</td>
                                    <td>{format!("{} / {}", r.input_tokens, r.output_tokens)}</td>
                                    <td>{dollars(r.cost_usd)}</td>
                                    <td>{format!("{} ms", r.p50_latency_ms)}</td>
                                    <td>{r.failed_calls}</td>
                                    <td>{r.fallback_calls}</td>
                                </tr>
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// Models without a price, listed apart: their calls count at the most expensive known price.
#[component]
fn Unpriced(report: UsageReport) -> impl IntoView {
    let unpriced: Vec<UsageRow> = report.rows.into_iter().filter(|r| r.unpriced_calls > 0).collect();
    (!unpriced.is_empty()).then(|| {
        view! {
            <section class="breakdown unpriced">
                <h3>"Unpriced calls"</h3>
                <p class="muted">"These models have no price; each call counts at the most expensive known price."</p>
                <ul>
                    {unpriced
                        .into_iter()
                        .map(|r| view! { <li>{format!("{}: {} calls, counted as {}", r.key, r.unpriced_calls, dollars(r.cost_usd))}</li> })
                        .collect_view()}
                </ul>
            </section>
        }
    })
}

/// The month's costliest conversations; each opens in the chat.
#[component]
fn Costliest(report: UsageReport, on_open: Callback<String>) -> impl IntoView {
    let rows: Vec<UsageRow> = report
        .rows
        .into_iter()
        .filter(|r| r.cost_usd > 0.0)
        .take(COSTLIEST)
        .collect();
    view! {
        <section class="breakdown">
            <h3>"Costliest conversations"</h3>
            <Show when={let empty = rows.is_empty(); move || empty}>
                <p class="muted">"None with a cost yet this month."</p>
            </Show>
            <ol class="costliest">
                {rows
                    .into_iter()
                    .map(|r| {
                        let id = r.key.clone();
                        let cost = dollars(r.cost_usd);
                        match r.label {
                            Some(title) => view! {
                                <li>
                                    <button class="link" on:click=move |_| on_open.run(id.clone())>{title}</button>
                                    {format!(" · {cost} · {} calls", r.calls)}
                                </li>
                            }
                            .into_any(),
                            None => view! {
                                <li><span class="muted">"A deleted conversation"</span>{format!(" · {cost} · {} calls", r.calls)}</li>
                            }
                            .into_any(),
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
    }
}
