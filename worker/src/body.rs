//! A response body read chunk by chunk: the provider's stream.
//!
//! Read into one buffer of its own (a BYOB reader), handed back and forth for the whole stream, rather
//! than a new buffer from the runtime for every chunk. And never unlocked: worker's `ByteStream` releases
//! its reader's lock when the body ends, and releasing rejects the reader's `closed` promise with a new
//! `TypeError` and its stack trace (the glue allows 100 frames): 23–32 µs in workerd from a 60-frame
//! stack (benches/glue.mjs), each provider call. A body that ended needs no unlocking, so this reader is
//! just let go; one dropped before its end cancels the body (and with it the provider's response), as
//! `ByteStream` does.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{FutureExt, Stream};
use js_sys::Uint8Array;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_streams::readable::sys::{ReadableStreamBYOBReader, ReadableStreamReadResult};
use worker::ResponseBody;

/// The buffer each read fills: a provider's chunk is a few hundred bytes; more than this waits for the next
/// read.
const BUFFER_BYTES: u32 = 16 * 1024;

pub struct Chunks {
    reader: Option<ReadableStreamBYOBReader>,
    /// The buffer, between reads (a read takes it and gives it back filled).
    buffer: Option<Uint8Array>,
    read: Option<JsFuture>,
}

impl Chunks {
    /// The body of `resp`, or `None` for a response without a byte stream body.
    pub fn of(resp: &worker::Response) -> Option<Self> {
        let ResponseBody::Stream(body) = resp.body() else {
            return None;
        };
        Some(Self {
            reader: Some(ReadableStreamBYOBReader::new(body).ok()?),
            buffer: Some(Uint8Array::new_with_length(BUFFER_BYTES)),
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
        let buffer = &mut this.buffer;
        let read = this.read.get_or_insert_with(|| {
            let view = buffer
                .take()
                .unwrap_or_else(|| Uint8Array::new_with_length(BUFFER_BYTES));
            JsFuture::from(reader.read_with_array_buffer_view(&view))
        });
        let result = futures::ready!(read.poll_unpin(cx));
        this.read = None;
        let chunk = match result {
            Ok(result) => {
                let result: ReadableStreamReadResult = result.unchecked_into();
                (!result.get_done().unwrap_or(true)).then(|| {
                    let filled: Uint8Array = result.get_value().unchecked_into();
                    // The same memory, moved to a new buffer object by the read: all of it, for the next.
                    this.buffer = Some(Uint8Array::new(&filled.buffer()));
                    Ok(filled.to_vec())
                })
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
