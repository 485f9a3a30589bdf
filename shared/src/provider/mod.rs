//! Provider protocols as pure code: request bodies and stateful stream parsers, one module per protocol.
//! The worker does the HTTP; everything that knows a provider's byte format lives here, tested natively.

pub mod openai;
