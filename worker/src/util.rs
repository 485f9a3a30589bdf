//! Platform glue: the clock, random ids, timestamps.

use wasm_bindgen::JsCast;

use crate::error::{Failure, Result};

/// Milliseconds since the Unix epoch (`Date.now()`: no `Date` object made, unlike `worker::Date::now`).
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// RFC 3339 UTC timestamp with milliseconds, sortable as text.
pub fn now_iso() -> String {
    js_sys::Date::new_0().to_iso_string().into()
}

/// A random UUID v4 from the runtime's CSPRNG (`crypto.randomUUID()`).
pub fn random_uuid() -> Result<String> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())
        .map_err(|_| Failure::Internal("no crypto global".into()))?;
    let f: js_sys::Function = js_sys::Reflect::get(&crypto, &"randomUUID".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| Failure::Internal("no crypto.randomUUID".into()))?;
    f.call0(&crypto)
        .ok()
        .and_then(|v| v.as_string())
        .ok_or_else(|| Failure::Internal("crypto.randomUUID failed".into()))
}
