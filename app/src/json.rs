//! JSON read with the browser's own `JSON.parse`, through the wire readers of `datasage_shared::wire`:
//! no JSON parser or serde deserializer is compiled into the app.

use datasage_shared::wire::{FromJson, Json, Kind, WireError};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Parses `text` and reads it as a `T`.
pub fn decode<T: FromJson>(text: &str) -> Result<T, WireError> {
    let value = js_sys::JSON::parse(text).map_err(|_| WireError { path: String::new() })?;
    T::from_json(&Parsed(value))
}

/// A value `JSON.parse` returned.
struct Parsed(JsValue);

impl Json for Parsed {
    fn member(&self, key: &str) -> Option<Self> {
        if !self.0.is_object() {
            return None;
        }
        let v = Reflect::get(&self.0, &JsValue::from_str(key)).ok()?;
        (!v.is_undefined()).then_some(Parsed(v))
    }

    fn kind(&self) -> Kind<Self> {
        let v = &self.0;
        if let Some(b) = v.as_bool() {
            Kind::Bool(b)
        } else if let Some(n) = v.as_f64() {
            Kind::Number(n)
        } else if let Some(s) = v.as_string() {
            Kind::String(s)
        } else if Array::is_array(v) {
            Kind::Array(Array::from(v).iter().map(Parsed).collect())
        } else if let Some(object) = v.dyn_ref::<Object>() {
            let entries = Object::entries(object);
            let members = entries.iter().map(|entry| {
                let entry = Array::from(&entry);
                (entry.get(0).as_string().unwrap_or_default(), Parsed(entry.get(1)))
            });
            Kind::Object(members.collect())
        } else {
            Kind::Null
        }
    }
}

#[cfg(test)]
mod tests {
    use datasage_shared::api::{ApiError, DatasetRows, StreamEvent};
    use serde_json::json;
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

    use super::decode;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn the_browser_reads_every_event_as_the_server_wrote_it() {
        let answer = json!({
            "message": "**West** leads", "confidence": "medium",
            "chart_config": {"type": "pie", "x": "region", "y": "revenue", "title": "Revenue",
                             "data": [{"region": "West", "revenue": 1250.5, "orders": 3, "note": null}]},
            "metadata": {"execution_tree": {"root": {"id": 0, "kind": "request", "label": "Answer", "status": "done",
                         "started_ms": 0, "duration_ms": 40, "children": [{"id": 1, "kind": "llm_call",
                         "label": "openai", "status": "failed", "started_ms": 2, "llm": {"provider": "openai",
                         "model": "m", "prompt_tokens": 812, "completion_tokens": 64, "cost_usd": 0.00016,
                         "retries": 1, "failure_class": "stall"}}]}},
                         "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
                         "provider": "openai", "model": "m", "latency_ms": 12, "cost_usd": null}
        });
        let events = [
            json!({"type": "content", "data": {"content": "Hel\"lo\n😀 \u{2028}"}}),
            json!({"type": "status", "data": {"status": "calling_model", "message": "Asking the model…"}}),
            json!({"type": "complete", "data": answer}),
            json!({"data": {"code": "RATE_LIMITED", "message": "slow down", "retry_after_secs": 7}, "type": "error"}),
        ];
        for event in events {
            let text = event.to_string();
            let derived: StreamEvent = serde_json::from_str(&text).expect("the server's reading");
            assert_eq!(decode::<StreamEvent>(&text), Ok(derived), "{text}");
        }
        let rows = r#"{"columns": ["a", "b"], "offset": 0, "rows": [["x", -3], [null, 2.5], [true, "y"]]}"#;
        let derived: DatasetRows = serde_json::from_str(rows).expect("the server's reading");
        assert_eq!(decode::<DatasetRows>(rows), Ok(derived));
    }

    #[wasm_bindgen_test]
    fn a_body_that_is_not_the_expected_json_is_an_error_not_a_panic() {
        assert!(decode::<StreamEvent>("<html>502 Bad Gateway</html>").is_err());
        assert!(decode::<ApiError>(r#"{"error": {"code": "TEAPOT", "message": "…"}}"#).is_err());
        assert!(decode::<ApiError>("null").is_err());
        assert!(decode::<StreamEvent>(r#"{"type": "content", "data": "text"}"#).is_err());
    }
}
