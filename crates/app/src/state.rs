//! Shared state handed to every handler.

use std::sync::Arc;

use taquilla_store::{Clock, Store};

use crate::auth::{PasswordHashing, TokenKeys};
use crate::config::Config;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub tokens: TokenKeys,
    pub passwords: PasswordHashing,
    pub jobs: crate::jobs::SharedJobStatus,
}
