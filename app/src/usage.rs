//! `use_usage`: the person's month to date — the summary against their budget and the reports by day,
//! provider, model and conversation — loaded together when the Usage page opens; and `use_estimate`, what
//! a question about the chosen dataset may cost, for the question box.

use datasage_shared::calendar::Date;
use datasage_shared::usage::{CostEstimate, Range, UsageReport, UsageSummary};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, ClientError};

/// One month's usage, as the Usage page shows it.
#[derive(Clone, PartialEq)]
pub struct Month {
    pub range: Range,
    pub summary: UsageSummary,
    pub by_day: UsageReport,
    pub by_provider: UsageReport,
    pub by_model: UsageReport,
    pub by_session: UsageReport,
}

#[derive(Clone, Copy)]
pub struct Usage {
    pub month: RwSignal<Option<Month>>,
    pub error: RwSignal<Option<ClientError>>,
    pub loading: RwSignal<bool>,
}

pub fn use_usage() -> Usage {
    Usage {
        month: RwSignal::new(None),
        error: RwSignal::new(None),
        loading: RwSignal::new(false),
    }
}

impl Usage {
    /// Loads the month to date (the summary and four reports at once).
    pub fn load(self) {
        self.loading.set(true);
        spawn_local(async move {
            let loaded = month_to_date().await;
            self.loading.set(false);
            match loaded {
                Ok(month) => {
                    self.month.set(Some(month));
                    self.error.set(None);
                }
                Err(e) => self.error.set(Some(e)),
            }
        });
    }
}

async fn month_to_date() -> Result<Month, ClientError> {
    let today = Date::from_unix_ms(js_sys::Date::now() as u64);
    let range = Range {
        from: today.month_start(),
        to: today,
    };
    let report = |group_by: &'static str| async move {
        api::get::<UsageReport>(&format!(
            "/api/v1/usage?group_by={group_by}&from={}&to={}",
            range.from, range.to
        ))
        .await
    };
    let (summary, by_day, by_provider, by_model, by_session) = futures::join!(
        api::get::<UsageSummary>("/api/v1/usage/summary"),
        report("day"),
        report("provider"),
        report("model"),
        report("session"),
    );
    Ok(Month {
        range,
        summary: summary?,
        by_day: by_day?,
        by_provider: by_provider?,
        by_model: by_model?,
        by_session: by_session?,
    })
}

/// Downloads every call of the month to date as CSV.
pub async fn export_csv(range: Range) -> Result<(), ClientError> {
    let path = format!(
        "/api/v1/usage/calls?format=csv&from={}&to={}",
        range.from, range.to
    );
    api::download(
        &path,
        &format!("datasage-usage-{}-to-{}.csv", range.from, range.to),
    )
    .await
}

/// What a question about the selected dataset may cost, fetched again when the dataset changes.
pub fn use_estimate(dataset: Signal<String>) -> RwSignal<Option<CostEstimate>> {
    let estimate = RwSignal::new(None);
    Effect::new(move |_| {
        let id = dataset.get();
        spawn_local(async move {
            let path = format!("/api/v1/usage/estimate?dataset_id={id}");
            // Without an estimate the question box simply shows none.
            estimate.set(api::get::<CostEstimate>(&path).await.ok());
        });
    });
    estimate
}
