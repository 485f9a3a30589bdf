//! `POST /api/v1/ws/ticket` and `GET /api/v1/ws/chat?ticket=…`: a browser cannot set `Authorization` on a
//! WebSocket, and a sign-in token must not sit in URLs or logs, so a signed-in client first gets a ticket
//! — single use, seconds long — and opens the socket with it. Everything that can refuse the socket does
//! so before the upgrade, with the API's JSON error.

use datasage_shared::api::ErrorCode;
use datasage_shared::hub::{origin_allowed, Ticket, TicketGrant, TICKET_TTL_SECS};
use worker::{Env, Request, Response};

use super::context::{json, Ctx};
use crate::config::{jwt_secret, Config};
use crate::error::{Failure, Result};
use crate::hub::client;
use crate::objects::param;
use crate::util::{now_ms, random_uuid};

pub fn ticket(cx: &Ctx) -> Result<Response> {
    let secret = jwt_secret(&cx.env)?;
    let now = now_ms() / 1000;
    let ticket = Ticket::issue(
        &cx.user_id,
        cx.auth_exp,
        random_uuid()?,
        now,
        secret.expose().as_bytes(),
    );
    json(&TicketGrant {
        ticket,
        expires_in: TICKET_TTL_SECS.min(cx.auth_exp.saturating_sub(now)),
    })
}

pub async fn chat(req: &Request, env: &Env, config: &Config) -> Result<Response> {
    let url = req.url()?;
    let secret = jwt_secret(env)?;
    let ticket = Ticket::verify(
        &param(&url, "ticket"),
        secret.expose().as_bytes(),
        now_ms() / 1000,
    )?;
    let origin = req.headers().get("origin").ok().flatten();
    let own = url.origin().ascii_serialization();
    if !origin_allowed(origin.as_deref(), &own, &config.hub.allowed_origins) {
        return Err(Failure::api(
            ErrorCode::Forbidden,
            "this origin may not open a socket (ALLOWED_ORIGINS lists the others allowed)",
        ));
    }
    let upgrade = req.headers().get("upgrade").ok().flatten().unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(Failure::api(
            ErrorCode::BadRequest,
            "expected a WebSocket upgrade (`Upgrade: websocket`)",
        ));
    }
    client::connect(env, &ticket).await
}
