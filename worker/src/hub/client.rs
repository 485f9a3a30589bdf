//! The worker's calls to a user's hub (one round trip each): a question over HTTP, a stop, a socket, a
//! change to the conversations.

use datasage_shared::api::ChatRequest;
use datasage_shared::hub::{StopRequest, Ticket};
use wasm_bindgen::JsValue;
use worker::{Env, Method, Response};

use super::Ask;
use crate::error::{Failure, Result};
use crate::objects::Object;

const BINDING: &str = "USER_HUB";

/// How a question over HTTP wants its answer.
#[derive(Clone, Copy)]
pub enum Transport {
    Sse,
    Json,
}

/// Asks the user's hub; its answer (an SSE stream, a JSON answer or an error) is passed on as it is.
pub async fn ask(env: &Env, user_id: &str, request: ChatRequest, transport: Transport) -> Result<Response> {
    let path = match transport {
        Transport::Sse => "/chat?transport=sse",
        Transport::Json => "/chat?transport=json",
    };
    let body = body(&Ask {
        user_id: user_id.to_owned(),
        request,
    })?;
    Object::new(env, BINDING, user_id)?
        .fetch(Method::Post, path, Some(body))
        .await
}

/// Stops an answer of the user's, whichever client asked it.
pub async fn stop(env: &Env, user_id: &str, stop: &StopRequest) -> Result<Response> {
    Object::new(env, BINDING, user_id)?
        .fetch(Method::Post, "/stop", Some(body(stop)?))
        .await
}

/// Tells every tab of the user that a conversation was renamed or deleted. Best effort: the change is
/// stored already, and a tab that misses it sees it on its next reload of the list.
pub async fn sessions_changed(env: &Env, user_id: &str) {
    let sent = match Object::new(env, BINDING, user_id) {
        Ok(hub) => hub
            .fetch(Method::Post, "/sessions-changed", None)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        worker::console_error!("hub: cannot tell the tabs of a session change: {e}");
    }
}

/// Opens a socket on the user's hub with a ticket the worker verified (the hub checks it is unused).
pub async fn connect(env: &Env, ticket: &Ticket) -> Result<Response> {
    let path = format!(
        "/connect?jti={}&exp={}&auth_exp={}&user_id={}",
        urlencode(&ticket.jti),
        ticket.exp,
        ticket.auth_exp,
        urlencode(&ticket.sub)
    );
    Object::new(env, BINDING, &ticket.sub)?.upgrade(&path).await
}

fn body<T: serde::Serialize>(value: &T) -> Result<JsValue> {
    serde_json::to_string(value)
        .map(|s| JsValue::from_str(&s))
        .map_err(|e| Failure::Internal(format!("hub request: {e}")))
}

fn urlencode(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}
