//! `taquilla cache stats|clear|warm`: inspect, empty or fill the shared cache.
//!
//! The commands act on the Redis cache that `serve` instances share when
//! `REDIS_URL` is set. Without it each `serve` process keeps its own cache in
//! memory, which no other process can reach: the commands then print why
//! and exit 2.

use std::process::ExitCode;
use std::sync::Arc;

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use taquilla_app::Config;
use taquilla_app::cache::{CacheBackend, RedisBackend};
use taquilla_app::redis_client::Redis;

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    command: CacheCommand,
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Print the number of cached groups and entries.
    Stats(CacheOptions),
    /// Drop every cached entry; the next reads load from the database.
    Clear(ClearArgs),
    /// Load the availability of every zone of every active event, and the
    /// events themselves, into the cache before an on-sale.
    Warm(WarmArgs),
}

#[derive(Debug, Args)]
struct CacheOptions {
    #[command(flatten)]
    config: Config,

    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ClearArgs {
    #[command(flatten)]
    options: CacheOptions,

    /// Clear without this flag is refused: every instance then reads the
    /// database until the entries are loaded again.
    #[arg(long)]
    confirm: bool,
}

#[derive(Debug, Args)]
struct WarmArgs {
    #[command(flatten)]
    options: CacheOptions,

    /// Slug of the tenant to warm; every tenant when omitted.
    #[arg(long)]
    tenant: Option<String>,

    /// Warm only this event (with --tenant); every active event when omitted.
    #[arg(long, requires = "tenant")]
    event: Option<uuid::Uuid>,
}

pub async fn run(args: CacheArgs) -> anyhow::Result<ExitCode> {
    let (options, tenant, event) = match &args.command {
        CacheCommand::Stats(options) => (options, None, None),
        CacheCommand::Clear(clear) => {
            if !clear.confirm {
                eprintln!(
                    "taquilla cache clear drops the cache of every instance; run it again with --confirm"
                );
                return Ok(ExitCode::from(2));
            }
            (&clear.options, None, None)
        }
        CacheCommand::Warm(warm) => (&warm.options, warm.tenant.as_deref(), warm.event),
    };
    if options.config.configured_redis_url().is_none() {
        eprintln!(
            "REDIS_URL is not set: each `taquilla serve` keeps its cache in its own memory, \
             which this command cannot reach. Entries there expire after \
             TAQUILLA_CACHE_TTL_SECONDS; restarting `serve` empties them."
        );
        return Ok(ExitCode::from(2));
    }
    options
        .config
        .validate()
        .map_err(|message| anyhow::anyhow!("invalid configuration: {message}"))?;
    let _log_files = taquilla_app::telemetry::init_with_files(&options.config)?;
    let json = options.json;
    let url = options.config.configured_redis_url().unwrap_or_default();
    let redis = Redis::connect_lazily(url, &options.config.redis_key_prefix)?;
    redis
        .ping()
        .await
        .context("Redis of REDIS_URL did not respond to PING")?;
    // Stats and clear touch only Redis, so they work while the database is down.
    let backend = RedisBackend::new(redis, Duration::from_secs(options.config.cache_ttl_seconds));
    match args.command {
        CacheCommand::Stats(_) => {
            let stats = backend.stats().await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "kind": backend.kind(), "groups": stats.groups, "entries": stats.entries })
                );
            } else {
                println!(
                    "cache: {} ({} groups, {} entries)",
                    backend.kind(),
                    stats.groups,
                    stats.entries
                );
            }
        }
        CacheCommand::Clear(_) => {
            let groups = backend.clear().await?;
            if json {
                println!("{}", serde_json::json!({ "cleared_groups": groups }));
            } else {
                println!("cleared {groups} cached groups");
            }
        }
        CacheCommand::Warm(_) => {
            let state = taquilla_app::startup::build_state(
                options.config.clone(),
                Arc::new(taquilla_store::SystemClock),
            )
            .await?;
            let tenants = super::fiscal::tenants(&state.store, tenant).await?;
            let mut events = 0;
            let mut zones = 0;
            for (index, tenant) in tenants.iter().enumerate() {
                let counts = taquilla_app::cache::warm_tenant(&state, tenant.id, event).await?;
                eprintln!(
                    "warmed tenant {}/{}: {} ({} events, {} zones)",
                    index + 1,
                    tenants.len(),
                    tenant.slug,
                    counts.events,
                    counts.zones
                );
                events += counts.events;
                zones += counts.zones;
            }
            // The cache never fails a read, so a write that did not reach
            // Redis only shows in the counters.
            let operations = &state.metrics.cache_operations_total;
            let failed = operations.with_label_values(&["get", "error"]).get()
                + operations.with_label_values(&["set", "error"]).get();
            if failed > 0 {
                anyhow::bail!(
                    "{failed} cache operations failed while warming; check Redis and run the command again"
                );
            }
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "tenants": tenants.len(), "events": events, "zones": zones })
                );
            } else {
                println!(
                    "warmed {} tenants: {events} active events, {zones} zones",
                    tenants.len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
