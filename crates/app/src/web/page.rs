//! Parts every web page shares: the layout data, rendering and error pages.

use std::borrow::Cow;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use taquilla_store::model::Role;

use super::session::WebUser;
use super::text;
use crate::error::{ApiError, localized_message};
use crate::i18n::{Locale, error_message};

/// A link of the navigation bar.
pub struct NavLink {
    pub href: &'static str,
    pub label: Cow<'static, str>,
    pub current: bool,
}

/// Data of the layout around every page.
pub struct Page {
    pub locale: Locale,
    /// Username of the signed-in user; `None` on the sign-in page.
    pub username: Option<String>,
    pub role: Option<Role>,
    /// CSRF token of the session, for forms and the `csrf-token` meta tag.
    pub csrf_token: String,
    /// Path of this page, so the language links come back to it.
    pub path: String,
    /// Query of this page (`evento=…&zona=…`), kept by the language links.
    pub query: Option<String>,
}

impl Page {
    pub fn anonymous(locale: Locale, path: &str, csrf_token: String) -> Self {
        Self {
            locale,
            username: None,
            role: None,
            csrf_token,
            path: path.to_string(),
            query: None,
        }
    }

    pub fn for_user(user: &WebUser, path: &str) -> Self {
        Self {
            locale: user.locale,
            username: Some(user.user.username.clone()),
            role: Some(user.user.role),
            csrf_token: user.csrf_token.clone(),
            path: path.to_string(),
            query: None,
        }
    }

    /// Returns this page's path and query as the `next` value of a language
    /// link, percent-encoded so the query stays one parameter.
    pub fn language_next(&self) -> String {
        let target = match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        };
        let mut encoded = String::with_capacity(target.len());
        for byte in target.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
                encoded.push(char::from(byte));
            } else {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
        encoded
    }

    /// Returns the words for `key` in this page's language.
    pub fn t(&self, key: &str) -> Cow<'static, str> {
        text::text(key, self.locale)
    }

    /// Returns the BCP 47 tag of the page's language, for `<html lang>`.
    pub fn lang(&self) -> &'static str {
        match self.locale {
            Locale::Es => "es-VE",
            Locale::En => "en",
        }
    }

    pub fn is_english(&self) -> bool {
        self.locale == Locale::En
    }

    pub fn money(&self, amount: &str, currency: &str) -> String {
        text::money(amount, currency, self.locale)
    }

    pub fn date_time(&self, instant: &chrono::DateTime<chrono::Utc>) -> String {
        text::date_time(*instant, self.locale)
    }

    /// Returns the texts whose keys start with one of `prefixes`, as JSON for
    /// the page's `i18n` script element.
    pub fn script_texts(&self, prefixes: &[&str]) -> String {
        text::script_texts(prefixes, self.locale)
    }

    /// Returns the role's name in this page's language.
    pub fn role_name(&self) -> Cow<'static, str> {
        match self.role {
            Some(role) => self.t(&format!("role.{}", role.as_str())),
            None => Cow::Borrowed(""),
        }
    }

    /// Returns the navigation links this user's role may open.
    pub fn nav(&self) -> Vec<NavLink> {
        let Some(role) = self.role else {
            return Vec::new();
        };
        let links: &[(&str, &str, &[Role])] = &[
            (
                "/app/taquilla",
                "nav.cashier",
                &[Role::Cashier, Role::TenantAdmin],
            ),
            ("/app/caja", "nav.day", &[Role::Cashier, Role::TenantAdmin]),
            (
                "/app/porteria",
                "nav.gate",
                &[Role::Validator, Role::TenantAdmin],
            ),
            ("/app/organizador", "nav.organizer", &[Role::TenantAdmin]),
        ];
        links
            .iter()
            .filter(|(_, _, roles)| roles.contains(&role))
            .map(|(href, key, _)| NavLink {
                href,
                label: self.t(key),
                current: self.path.starts_with(href),
            })
            .collect()
    }
}

/// Sets the headers every page carries: no caching of pages that show sales,
/// no framing, and a content security policy that allows only taquilla's own
/// scripts, styles and requests.
pub fn secure_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
             object-src 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// Renders a template into an HTML response with `status`.
pub fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            secure_headers(&mut response);
            response
        }
        Err(error) => {
            tracing::error!(error = %error, "rendering a web page failed");
            ApiError::internal(error).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorTemplate {
    page: Page,
    message: String,
}

/// Renders an error as a page in `locale`, with the status the API would use.
pub fn error_page(locale: Locale, error: ApiError) -> Response {
    let api_response = error.into_response();
    let status = api_response.status();
    let message = match api_response.extensions().get::<crate::error::ErrorParts>() {
        _ if status == StatusCode::NOT_FOUND => text::text("error.not_found", locale).into_owned(),
        Some(parts) => localized_message(parts.code, &parts.details, locale),
        None => error_message("internal_error", locale).to_string(),
    };
    let template = ErrorTemplate {
        page: Page::anonymous(locale, "/app", String::new()),
        message,
    };
    render(&template, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_next_encodes_query() {
        let mut page = Page::anonymous(Locale::Es, "/app/organizador", String::new());
        assert_eq!(page.language_next(), "/app/organizador");
        page.query = Some("evento=1&zona=2".to_string());
        assert_eq!(
            page.language_next(),
            "/app/organizador%3Fevento%3D1%26zona%3D2"
        );
    }
}
