//! Web page module; its routes and texts are filled in by its page.

use axum::Router;

use super::text::TextTable;
use crate::state::AppState;

pub const TEXT: TextTable = &[];

pub fn routes() -> Router<AppState> {
    Router::new()
}
