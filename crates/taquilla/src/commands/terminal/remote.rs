//! The terminal's HTTP client for the central server: login, token refresh,
//! the downloads `setup` needs, and the offline block endpoints. Only the URL
//! given to `setup` is ever contacted.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Seconds a request may take before the terminal gives up on it.
const REQUEST_TIMEOUT_SECONDS: u64 = 30;
/// Items per page when the terminal downloads a list.
const PAGE_LIMIT: i64 = 200;

/// Tokens returned by login and refresh. `Debug` is not derived, so a token
/// never reaches a log or an error message.
#[derive(Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
}

/// A failed API call: the HTTP status and the error envelope's code and message.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "el servidor respondió {} ({}): {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiFailure {}

pub struct Remote {
    base: String,
    client: reqwest::Client,
    access_token: Option<String>,
}

impl Remote {
    /// Builds a client for `server`, e.g. `http://127.0.0.1:8000`; proxies from
    /// the environment are ignored so requests go only to that URL.
    pub fn new(server: &str) -> anyhow::Result<Self> {
        let base = server.trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&base)
            .with_context(|| format!("URL del servidor no válida: `{server}`"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("URL del servidor no válida: `{server}` (use http:// o https://)");
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(REQUEST_TIMEOUT_SECONDS))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()?;
        Ok(Self {
            base,
            client,
            access_token: None,
        })
    }

    /// Sends one request and decodes a 2xx JSON body as `T`. Any other status
    /// becomes an [`ApiFailure`]; a connection failure names the server URL.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<T> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut request = self
            .client
            .request(method, &url)
            .header("accept-language", "es");
        if let Some(token) = &self.access_token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|error| {
            let cause = if error.is_timeout() {
                "se agotó el tiempo de espera".to_string()
            } else if error.is_connect() {
                "no se pudo conectar".to_string()
            } else {
                error.to_string()
            };
            anyhow!("no se pudo contactar el servidor {}: {cause}", self.base)
        })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("no se pudo leer la respuesta de {url}"))?;
        if !status.is_success() {
            let envelope: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Err(ApiFailure {
                status,
                code: envelope["error"]["code"]
                    .as_str()
                    .unwrap_or("http_error")
                    .to_string(),
                message: envelope["error"]["message"]
                    .as_str()
                    .unwrap_or("respuesta inesperada")
                    .to_string(),
            }
            .into());
        }
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{url} respondió algo que no es la API de taquilla (¿la URL {} es correcta?)",
                self.base
            )
        })
    }

    /// Logs in and keeps the access token for the next calls.
    pub async fn login(&mut self, username: &str, password: &str) -> anyhow::Result<Tokens> {
        let body = json!({ "username": username, "password": password });
        let tokens: Tokens = self
            .call(Method::POST, "/auth/login", Some(&body))
            .await
            .map_err(|error| match error.downcast_ref::<ApiFailure>() {
                Some(failure) if failure.status == StatusCode::UNAUTHORIZED => anyhow!(
                    "usuario o contraseña incorrectos para `{username}` en {}",
                    self.base
                ),
                _ => error.context("falló el inicio de sesión"),
            })?;
        self.access_token = Some(tokens.access_token.clone());
        Ok(tokens)
    }

    /// Exchanges a refresh token for new tokens. The server rotates the
    /// refresh token, so the caller must store the new one before anything else.
    pub async fn refresh(&mut self, refresh_token: &str) -> anyhow::Result<Tokens> {
        let body = json!({ "refresh_token": refresh_token });
        let tokens: Tokens = self
            .call(Method::POST, "/auth/refresh", Some(&body))
            .await?;
        self.access_token = Some(tokens.access_token.clone());
        Ok(tokens)
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> anyhow::Result<T> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Downloads every page of a keyset-paginated list. `path` may already
    /// carry a query string.
    pub async fn get_all<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Vec<T>> {
        #[derive(Deserialize)]
        struct Page<T> {
            items: Vec<T>,
            next_cursor: Option<String>,
        }

        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(cursor) => format!("{path}{separator}limit={PAGE_LIMIT}&cursor={cursor}"),
                None => format!("{path}{separator}limit={PAGE_LIMIT}"),
            };
            let page: Page<T> = self.get(&url).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }
}

/// Returns the HTTP status of a failed call, if the server responded.
pub fn failure_status(error: &anyhow::Error) -> Option<StatusCode> {
    error
        .downcast_ref::<ApiFailure>()
        .map(|failure| failure.status)
}
