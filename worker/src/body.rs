//! A response body read chunk by chunk: the provider's stream.
//!
//! worker's `ByteStream` releases its reader's lock when the body ends, and releasing rejects the reader's
//! `closed` promise with a new `TypeError` and its stack trace (the glue allows 100 frames): 23 µs in
//! workerd from a 60-frame stack (benches/glue.mjs), each provider call. A body that ended needs no
//! unlocking, so this reader is just let go; one dropped before its end cancels the body (and with it the
//! provider's response), as `ByteStream` does.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{FutureExt, Stream};
use js_sys::Uint8Array;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_streams::readable::sys::{ReadableStreamDefaultReader, ReadableStreamReadResult};
use worker::ResponseBody;

pub struct Chunks {
    reader: Option<ReadableStreamDefaultReader>,
    read: Option<JsFuture>,
}

impl Chunks {
    /// The body of `resp`, or `None` for a response without a stream body.
    pub fn of(resp: &worker::Response) -> Option<Self> {
        let ResponseBody::Stream(body) = resp.body() else {
            return None;
        };
        Some(Self {
            reader: Some(body.get_reader().unchecked_into()),
            read: None,
        })
    }
}

impl Stream for Chunks {
    type Item = Result<Vec<u8>, String>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(reader) = &this.reader else {
            return Poll::Ready(None);
        };
        let read = this.read.get_or_insert_with(|| JsFuture::from(reader.read()));
        let result = futures::ready!(read.poll_unpin(cx));
        this.read = None;
        let chunk = match result {
            Ok(result) => {
                let result: ReadableStreamReadResult = result.unchecked_into();
                (!result.get_done().unwrap_or(true))
                    .then(|| Ok(Uint8Array::new(&result.get_value()).to_vec()))
            }
            // The call's abort signal fired (a stop): the body just ends, as with `ByteStream`.
            Err(e) if message(&e) == "Error: aborted" => None,
            Err(e) => Some(Err(message(&e))),
        };
        if !matches!(chunk, Some(Ok(_))) {
            this.reader = None;
        }
        Poll::Ready(chunk)
    }
}

impl Drop for Chunks {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            // Cancelling a body that failed meanwhile rejects; nothing is waiting for that. (A `once`
            // closure frees itself when called; `forget` hands it to the promise.)
            let ignore = Closure::once(|_: JsValue| {});
            let _ = reader.cancel().catch(&ignore);
            ignore.forget();
        }
    }
}

fn message(e: &JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(e) => e.to_string().into(),
        None => format!("{e:?}"),
    }
}
