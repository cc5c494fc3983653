//! Sign-in to the web pages: a server-side session named by an HttpOnly cookie,
//! a CSRF token per session, and the language cookie.
//!
//! The cookie is `SameSite=Strict`, and every request that changes something
//! must also carry the session's CSRF token (a form field, or the
//! `X-CSRF-Token` header from the page scripts), so another site can neither
//! read nor use a cashier's session.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router};
use serde::Deserialize;
use taquilla_store::model::{Role, User};
use uuid::Uuid;

use super::page::{Page, render};
use crate::auth::{Principal, random_token, token_hash};
use crate::error::{ApiError, localized_message};
use crate::http::auth::{LoginRequest, check_credentials};
use crate::i18n::{Locale, error_message};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "taquilla_session";
const LOGIN_CSRF_COOKIE: &str = "taquilla_login_csrf";
pub const LANGUAGE_COOKIE: &str = "taquilla_lang";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/login",
            axum::routing::get(login_page).post(login_submit),
        )
        .route("/app/logout", axum::routing::post(logout))
        .route("/app/idioma/{language}", axum::routing::get(set_language))
}

/// Returns the value of cookie `name` from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Returns the language of a page: the language cookie, else the browser's
/// `Accept-Language`, else Spanish.
pub fn page_locale(headers: &HeaderMap) -> Locale {
    match cookie(headers, LANGUAGE_COOKIE) {
        Some("en") => Locale::En,
        Some("es") => Locale::Es,
        _ => Locale::from_headers(headers),
    }
}

/// Compares two secrets in time that depends only on their lengths.
/// Returns whether `value` has the shape of [`crate::auth::random_token`]'s
/// output: 64 lowercase hexadecimal digits.
fn has_token_shape(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

fn same_secret(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left
            .bytes()
            .zip(right.bytes())
            .fold(0_u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age_seconds: i64,
    secure: bool,
) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie values are hex or fixed ASCII")
}

/// A signed-in user of the web pages. Pages that take it send visitors without
/// a valid session to the sign-in page.
#[derive(Debug, Clone)]
pub struct WebUser {
    pub user: User,
    pub tenant_id: Uuid,
    pub csrf_token: String,
    pub locale: Locale,
}

impl WebUser {
    /// Returns the API caller this user is, for handlers shared with the API.
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.user.id,
            role: self.user.role,
            tenant_id: Some(self.tenant_id),
        }
    }

    /// Checks the CSRF token a form sent.
    pub fn check_csrf(&self, sent: &str) -> Result<(), ApiError> {
        if same_secret(sent, &self.csrf_token) {
            Ok(())
        } else {
            Err(ApiError::CsrfRejected)
        }
    }

    pub fn is(&self, roles: &[Role]) -> bool {
        roles.contains(&self.user.role)
    }
}

/// Looks up the session the request's cookie names. Returns `None` when there
/// is no cookie, and when the session is unknown, revoked, expired, or belongs
/// to a user who is now inactive or has no tenant.
async fn find_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(User, Uuid, String)>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(session) = state
        .store
        .find_web_session(&token_hash(token), state.clock.now())
        .await?
    else {
        return Ok(None);
    };
    let Some(tenant_id) = session.user.tenant_id else {
        return Ok(None);
    };
    if !session.user.active {
        return Ok(None);
    }
    Ok(Some((session.user, tenant_id, session.csrf_token)))
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let locale = page_locale(&parts.headers);
        match find_session(state, &parts.headers).await {
            Ok(Some((user, tenant_id, csrf_token))) => {
                tracing::Span::current().record("tenant.id", tracing::field::display(tenant_id));
                tracing::Span::current().record("user.id", tracing::field::display(user.id));
                Ok(WebUser {
                    user,
                    tenant_id,
                    csrf_token,
                    locale,
                })
            }
            Ok(None) => Err(Redirect::to("/app/login").into_response()),
            Err(error) => Err(super::page::error_page(locale, error)),
        }
    }
}

/// Authenticates an API request by the web session cookie, for the page
/// scripts. Returns `Ok(None)` when the request has no session cookie. A
/// request that is not GET, HEAD or OPTIONS must carry the session's CSRF
/// token in `X-CSRF-Token`.
pub(crate) async fn api_principal(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<Principal>, ApiError> {
    if cookie(&parts.headers, SESSION_COOKIE).is_none() {
        return Ok(None);
    }
    let Some((user, tenant_id, csrf_token)) = find_session(state, &parts.headers).await? else {
        return Err(ApiError::Unauthorized("invalid_token"));
    };
    if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        if !same_secret(sent, &csrf_token) {
            return Err(ApiError::CsrfRejected);
        }
    }
    Ok(Some(Principal {
        user_id: user.id,
        role: user.role,
        tenant_id: Some(tenant_id),
    }))
}

#[derive(askama::Template)]
#[template(path = "web/login.html")]
struct LoginTemplate {
    page: Page,
    username: String,
    error: Option<String>,
}

fn login_form(
    locale: Locale,
    username: String,
    error: Option<String>,
    status: StatusCode,
    secure: bool,
) -> Response {
    let csrf_token = random_token();
    let template = LoginTemplate {
        page: Page::anonymous(locale, "/app/login", csrf_token.clone()),
        username,
        error,
    };
    let mut response = render(&template, status);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &csrf_token, "/app/login", 3_600, secure),
    );
    response
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let locale = page_locale(&headers);
    if let Ok(Some(_)) = find_session(&state, &headers).await {
        return Redirect::to("/app").into_response();
    }
    login_form(
        locale,
        String::new(),
        None,
        StatusCode::OK,
        state.config.cookie_secure,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let locale = page_locale(&headers);
    let secure = state.config.cookie_secure;
    let username = form.username.trim().to_string();

    // An empty or short pair matched too, so the cookie must also have the
    // shape of a token this server issues.
    let sent_matches_cookie = cookie(&headers, LOGIN_CSRF_COOKIE).is_some_and(|expected| {
        has_token_shape(expected) && same_secret(&form.csrf_token, expected)
    });
    if !sent_matches_cookie {
        let message = super::text::text("login.csrf_failed", locale).into_owned();
        return login_form(
            locale,
            username,
            Some(message),
            StatusCode::FORBIDDEN,
            secure,
        );
    }

    let request = LoginRequest {
        username: username.clone(),
        password: form.password,
    };
    let user = match check_credentials(&state, request).await {
        Ok(user) => user,
        Err(error @ (ApiError::Unauthorized(_) | ApiError::TooManyRequests { .. })) => {
            // The API's own response gives the status and the message with
            // its details, such as how long the account stays locked.
            let response = error.into_response();
            let status = response.status();
            let message = response
                .extensions()
                .get::<crate::error::ErrorParts>()
                .map(|parts| localized_message(parts.code, &parts.details, locale))
                .unwrap_or_default();
            return login_form(locale, username, Some(message), status, secure);
        }
        Err(error) => return super::page::error_page(locale, error),
    };
    if user.tenant_id.is_none() || matches!(user.role, Role::PlatformAdmin | Role::ApiClient) {
        tracing::warn!(event = "web_login_rejected", user.id = %user.id, role = user.role.as_str(), "web sign-in rejected for this role");
        let message = error_message("web_role_not_allowed", locale).to_string();
        return login_form(
            locale,
            username,
            Some(message),
            StatusCode::FORBIDDEN,
            secure,
        );
    }

    let token = random_token();
    let csrf_token = random_token();
    let lifetime = chrono::Duration::hours(state.config.web_session_hours);
    if let Err(error) = state
        .store
        .create_web_session(
            &token_hash(&token),
            user.id,
            &csrf_token,
            state.clock.now() + lifetime,
        )
        .await
    {
        return super::page::error_page(locale, error.into());
    }
    tracing::info!(event = "web_session_started", user.id = %user.id, "web session started");

    let mut response = Redirect::to("/app").into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &token, "/", lifetime.num_seconds(), secure),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, "", "/app/login", 0, secure),
    );
    response
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

async fn logout(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(error) = user.check_csrf(&form.csrf_token) {
        return super::page::error_page(user.locale, error);
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(error) = state.store.revoke_web_session(&token_hash(token)).await
    {
        return super::page::error_page(user.locale, error.into());
    }
    tracing::info!(event = "web_session_ended", user.id = %user.user.id, "web session ended");
    let mut response = Redirect::to("/app/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", "/", 0, state.config.cookie_secure),
    );
    response
}

#[derive(Deserialize)]
struct LanguageQuery {
    next: Option<String>,
}

/// Stores the chosen language in a cookie and goes back to the page the user
/// came from. Only paths under `/app` are followed, so the link cannot send
/// anyone to another site.
async fn set_language(
    State(state): State<AppState>,
    Path(language): Path<String>,
    Query(query): Query<LanguageQuery>,
) -> Response {
    let value = match language.as_str() {
        "en" => "en",
        _ => "es",
    };
    let next = query
        .next
        .filter(|path| path.starts_with("/app") && !path.contains("//") && !path.contains('\\'))
        .unwrap_or_else(|| "/app".to_string());
    let mut response = Redirect::to(&next).into_response();
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let cookie =
        format!("{LANGUAGE_COOKIE}={value}; Path=/; Max-Age=31536000; SameSite=Lax{secure}");
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("the language cookie is ASCII"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_finds_value_among_several() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; taquilla_session=abc"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("taquilla_lang=en"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, LANGUAGE_COOKIE), Some("en"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn token_shape_is_64_hex_digits() {
        assert!(has_token_shape(&crate::auth::random_token()));
        assert!(!has_token_shape(""));
        assert!(!has_token_shape("aaaa"));
        assert!(!has_token_shape(&"G".repeat(64)));
        assert!(!has_token_shape(&"A".repeat(64)));
    }

    #[test]
    fn same_secret_compares_whole_values() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
    }
}
