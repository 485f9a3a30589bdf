//! `use_datasets`: the caller's datasets, the one the conversation is about, its profile and preview,
//! and uploads with their progress. Components only read its signals.

use datasage_shared::api::{DatasetDetail, DatasetList, DatasetRows, DatasetSummary, DatasetUpdate};
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::File;

use crate::api::{self, ClientError};

/// The dataset selected before anything is uploaded.
pub const SAMPLE_ID: &str = "sample";
const DATASET_KEY: &str = "datasage.dataset";
/// Rows shown in the preview.
const PREVIEW_ROWS: u32 = 20;

/// Where an upload is.
#[derive(Debug, Clone, PartialEq)]
pub enum Upload {
    Idle,
    /// Sending the file; the fraction sent so far.
    Sending {
        name: String,
        fraction: f64,
    },
    /// Sent; the server is reading, typing and profiling it.
    Processing {
        name: String,
    },
    Failed {
        name: String,
        error: ClientError,
    },
}

#[derive(Clone, Copy)]
pub struct Datasets {
    pub list: RwSignal<Vec<DatasetSummary>>,
    pub selected: RwSignal<String>,
    pub detail: RwSignal<Option<DatasetDetail>>,
    pub preview: RwSignal<Option<DatasetRows>>,
    pub upload: RwSignal<Upload>,
    pub error: RwSignal<Option<ClientError>>,
}

pub fn use_datasets() -> Datasets {
    let ds = Datasets {
        list: RwSignal::new(Vec::new()),
        selected: RwSignal::new(api::remembered(DATASET_KEY).unwrap_or_else(|| SAMPLE_ID.to_owned())),
        detail: RwSignal::new(None),
        preview: RwSignal::new(None),
        upload: RwSignal::new(Upload::Idle),
        error: RwSignal::new(None),
    };
    ds.refresh();
    ds.load_selected();
    ds
}

impl Datasets {
    /// The selected dataset's summary, once listed.
    pub fn current(&self) -> Option<DatasetSummary> {
        let id = self.selected.get();
        self.list.with(|l| l.iter().find(|d| d.id == id).cloned())
    }

    pub fn refresh(&self) {
        let ds = *self;
        spawn_local(async move {
            match api::get::<DatasetList>("/api/v1/datasets").await {
                Ok(list) => ds.list.set(list.datasets),
                Err(e) => ds.error.set(Some(e)),
            }
        });
    }

    pub fn select(&self, id: String) {
        if self.selected.get_untracked() != id {
            api::remember(DATASET_KEY, &id);
            self.selected.set(id);
            self.load_selected();
        }
    }

    /// Loads the selected dataset's profile and first rows.
    fn load_selected(&self) {
        let ds = *self;
        let id = ds.selected.get_untracked();
        ds.detail.set(None);
        ds.preview.set(None);
        spawn_local(async move {
            let detail = api::get::<DatasetDetail>(&format!("/api/v1/datasets/{id}")).await;
            let rows =
                api::get::<DatasetRows>(&format!("/api/v1/datasets/{id}/rows?limit={PREVIEW_ROWS}")).await;
            if ds.selected.get_untracked() != id {
                return; // another dataset was chosen meanwhile
            }
            match (detail, rows) {
                (Ok(d), Ok(r)) => {
                    ds.detail.set(Some(d));
                    ds.preview.set(Some(r));
                }
                (Err(e), _) | (_, Err(e)) => ds.error.set(Some(e)),
            }
        });
    }

    /// Uploads a CSV; once stored it is listed and selected.
    pub fn upload(&self, file: File, privacy: bool) {
        if matches!(
            self.upload.get_untracked(),
            Upload::Sending { .. } | Upload::Processing { .. }
        ) {
            return;
        }
        let ds = *self;
        let name = file.name();
        ds.upload.set(Upload::Sending {
            name: name.clone(),
            fraction: 0.0,
        });
        spawn_local(async move {
            let progress_name = name.clone();
            let on_progress = move |fraction: f64| {
                ds.upload.set(if fraction >= 1.0 {
                    Upload::Processing {
                        name: progress_name.clone(),
                    }
                } else {
                    Upload::Sending {
                        name: progress_name.clone(),
                        fraction,
                    }
                });
            };
            match api::upload::<DatasetDetail>(&file, privacy, on_progress).await {
                Ok(detail) => {
                    ds.upload.set(Upload::Idle);
                    let id = detail.summary.id.clone();
                    ds.list.update(|l| l.insert(0, detail.summary.clone()));
                    ds.select(id);
                }
                Err(error) => ds.upload.set(Upload::Failed { name, error }),
            }
        });
    }

    pub fn set_privacy(&self, id: String, privacy: bool) {
        let ds = *self;
        spawn_local(async move {
            let path = format!("/api/v1/datasets/{id}");
            match api::send_json::<DatasetSummary>("PATCH", &path, &DatasetUpdate { privacy }).await {
                Ok(updated) => ds.list.update(|l| {
                    if let Some(d) = l.iter_mut().find(|d| d.id == updated.id) {
                        *d = updated;
                    }
                }),
                Err(e) => ds.error.set(Some(e)),
            }
        });
    }

    pub fn delete(&self, id: String) {
        let ds = *self;
        spawn_local(async move {
            match api::delete(&format!("/api/v1/datasets/{id}")).await {
                Ok(()) => {
                    ds.list.update(|l| l.retain(|d| d.id != id));
                    if ds.selected.get_untracked() == id {
                        ds.select(SAMPLE_ID.to_owned());
                    }
                }
                Err(e) => ds.error.set(Some(e)),
            }
        });
    }
}
