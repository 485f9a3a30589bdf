//! The worker's side of its Durable Objects: one typed client ([`Object`]) — a method, a path and an
//! optional body in, the object's JSON answer out, an error body turned back into the [`Failure`] the
//! object answered with — and the setup every object repeats.

use datasage_shared::api::{ApiError, ErrorCode};
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{Env, Headers, Method, Request, RequestInit, Response, SqlStorage, Stub, Url};

use crate::error::{Failure, Result};

/// One named instance of a Durable Object binding.
pub struct Object {
    stub: Stub,
    /// The binding, for messages.
    binding: &'static str,
}

impl Object {
    pub fn new(env: &Env, binding: &'static str, name: &str) -> Result<Self> {
        Ok(Self {
            stub: env.durable_object(binding)?.get_by_name(name)?,
            binding,
        })
    }

    /// Sends one request (`path` may carry a query string) and reads the answer's JSON as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<JsValue>,
    ) -> Result<T> {
        let mut resp = self.fetch(method, path, body).await?;
        Ok(resp.json().await?)
    }

    /// Sends one request whose answer has no body.
    pub async fn tell(&self, method: Method, path: &str, body: Option<JsValue>) -> Result<()> {
        self.fetch(method, path, body).await.map(drop)
    }

    /// Sends one request and passes a success on as it is (a stream); an error answer becomes the
    /// [`Failure`] it stands for.
    pub async fn fetch(&self, method: Method, path: &str, body: Option<JsValue>) -> Result<Response> {
        self.send(method, path, body, Headers::new()).await
    }

    /// Asks the object to accept a WebSocket (`GET` with `Upgrade: websocket`); its 101 is passed on.
    pub async fn upgrade(&self, path: &str) -> Result<Response> {
        let headers = Headers::new();
        headers.set("upgrade", "websocket")?;
        self.send(Method::Get, path, None, headers).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<JsValue>,
        headers: Headers,
    ) -> Result<Response> {
        let url = Url::parse(&format!("https://{}{path}", self.binding.to_ascii_lowercase()))
            .map_err(|e| Failure::Internal(format!("{} url `{path}`: {e}", self.binding)))?;
        let mut init = RequestInit::new();
        init.with_method(method).with_body(body).with_headers(headers);
        let req = Request::new_with_init(url.as_str(), &init)?;
        let mut resp = self.stub.fetch_with_request(req).await?;
        if (200..300).contains(&resp.status_code()) || resp.status_code() == 101 {
            return Ok(resp);
        }
        Err(self.failure(&mut resp).await)
    }

    /// The [`Failure`] an error answer stands for: a client-facing error passes through; anything else is
    /// internal.
    async fn failure(&self, resp: &mut Response) -> Failure {
        let status = resp.status_code();
        match resp.json::<ApiError>().await {
            Ok(e) if e.error.code != ErrorCode::Internal => Failure::Api(e),
            Ok(e) => Failure::Internal(format!("{}: {}", self.binding, e.error.message)),
            Err(e) => Failure::Internal(format!("{} answered {status}: {e}", self.binding)),
        }
    }
}

/// Creates an object's tables if they are not there yet, in one call (an object runs this each time it
/// starts, and a new user's hub starts on their first question). A failure is logged, not raised: the
/// object still starts, and its first query reports the missing table.
pub fn create_tables(sql: &SqlStorage, object: &str, ddl: &[&str]) {
    if let Err(e) = sql.exec(&ddl.join(";\n"), None) {
        worker::console_error!("{object}: cannot create its tables: {e}");
    }
}

/// Whether the object's SQLite has a table called `name`.
pub fn has_table(sql: &SqlStorage, name: &str) -> worker::Result<bool> {
    #[derive(serde::Deserialize)]
    struct Count {
        n: f64,
    }
    let count: Count = sql
        .exec(
            "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
            vec![name.into()],
        )?
        .one()?;
    Ok(count.n > 0.0)
}

/// A query parameter of a request an object received; empty when it is missing.
pub fn param(url: &Url, key: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
