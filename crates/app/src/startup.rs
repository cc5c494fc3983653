//! Building and running the server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use taquilla_store::{Clock, Store};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::{PasswordHashing, TokenKeys, random_token};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::{AppState, AppStateInner};

/// A configured server, bound to its port but not yet serving.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: AppState,
    /// Routes that [`Application::with_extra_routes`] merges into `/api/v1`. The server adds none.
    extra_routes: axum::Router<AppState>,
}

/// Connects to the database (running migrations) and builds the shared state.
pub async fn build_state(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    config
        .validate()
        .map_err(|message| anyhow::anyhow!("invalid configuration: {message}"))?;
    if config.configured_database_url().is_none() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("creating the data directory {}", config.data_dir.display())
        })?;
    }
    let options = config.connect_options();
    let store: Arc<dyn Store> = taquilla_store::connect(&options, clock.clone())
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                taquilla_store::redact_url(&options.url)
            )
        })?;

    // Without a configured secret, one is generated once and shared through the database.
    let secret = match &config.jwt_secret {
        Some(secret) => secret.clone(),
        None => {
            store
                .get_or_init_setting("jwt_secret", &random_token())
                .await?
        }
    };
    let metrics = Arc::new(Metrics::new());
    let store: Arc<dyn Store> = Arc::new(crate::metered_store::MeteredStore::new(
        store,
        metrics.database_query_duration_seconds.clone(),
    ));
    let redis = config
        .configured_redis_url()
        .map(|url| crate::redis_client::Redis::connect_lazily(url, &config.redis_key_prefix))
        .transpose()?;
    let cache = Arc::new(crate::cache::Cache::from_config(
        &config,
        redis.as_ref(),
        metrics.cache_operations_total.clone(),
        clock.clone(),
    ));
    let rate_limiter = Arc::new(crate::rate_limit::RateLimiter::new(
        crate::rate_limit::Limits::from_config(&config),
        redis.clone(),
    ));
    Ok(AppState::new(AppStateInner {
        cache,
        rate_limiter,
        redis,
        store,
        clock,
        tokens: TokenKeys::new(secret.as_bytes())?,
        passwords: PasswordHashing::new(config.argon2_memory_kib, config.argon2_iterations)?,
        metrics,
        jobs: Default::default(),
        signing_keys: Default::default(),
        integrity: Default::default(),
        profiles: Default::default(),
        issuing: Default::default(),
        issuing_adapters: Default::default(),
        config: Arc::new(config),
    }))
}

impl Application {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let bind = config.bind;
        let state = build_state(config, clock).await?;
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {bind}"))?;
        let metrics_listener = match state.config.metrics_port {
            Some(port) => {
                let address = SocketAddr::new(bind.ip(), port);
                let listener = TcpListener::bind(address)
                    .await
                    .with_context(|| format!("binding the metrics port {address}"))?;
                Some(listener)
            }
            None => None,
        };
        Ok(Self {
            listener,
            metrics_listener,
            state,
            extra_routes: axum::Router::new(),
        })
    }

    /// Adds routes to `/api/v1`, inside every middleware layer, for tests that
    /// need a path no production route has (see [`crate::http::router_with`]).
    #[doc(hidden)]
    pub fn with_extra_routes(mut self, routes: axum::Router<AppState>) -> Self {
        self.extra_routes = self.extra_routes.merge(routes);
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Address of the separate metrics listener, when PROMETHEUS_METRICS_EXPORT_PORT is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_jobs, stop_receiver) = watch::channel(false);
        let stop_receiver_for_metrics = stop_receiver.clone();
        let sweeper = tokio::spawn(crate::jobs::run_sweeper(self.state.clone(), stop_receiver));

        let address = self.local_addr();
        tracing::info!(event = "server_started", address = %address, backend = self.state.store.backend(), "taquilla is listening");
        if self.state.config.enable_request_profiling {
            tracing::info!(
                event = "request_profiling_enabled",
                window = crate::profiling::RequestProfiles::WINDOW,
                "request profiling is enabled: recent requests and their database calls are kept in memory"
            );
        }
        let metrics_server = self.metrics_listener.map(|listener| {
            let router = crate::http::metrics_router().with_state(self.state.clone());
            let mut stopped = stop_receiver_for_metrics.clone();
            tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.changed().await;
                };
                if let Err(error) = axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!(error = %error, "metrics listener failed");
                }
            })
        });
        let router = crate::http::router_with(self.state.clone(), self.extra_routes);
        axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;

        let _ = stop_jobs.send(true);
        let _ = sweeper.await;
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        tracing::info!(event = "server_stopped", "taquilla stopped");
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!(
        event = "shutdown_requested",
        "shutting down: finishing requests in flight"
    );
}
