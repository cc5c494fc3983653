//! The optional Redis connection (`REDIS_URL`) that the cache and the rate
//! limits share across instances.
//!
//! The connection is lazy and reconnects by itself: taquilla starts and keeps
//! selling while Redis is down, and each user of the connection falls back to
//! what it can do alone (the database, or this process's memory).

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long one Redis command may take before its caller falls back.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// How long one connection attempt may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// A multiplexed Redis connection, cheap to clone.
#[derive(Clone)]
pub struct Redis {
    manager: ConnectionManager,
    /// Prefix of every key taquilla writes, so one Redis can serve several deployments.
    prefix: String,
}

impl Redis {
    /// Prepares the connection without opening it, so a Redis that is down
    /// does not stop the start.
    pub fn connect_lazily(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|error| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {error}"))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            manager,
            prefix: prefix.to_string(),
        })
    }

    /// Returns a handle to the shared connection for one or more commands.
    pub fn connection(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// Returns `key` under this deployment's prefix.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Sends PING and returns how long the reply took.
    pub async fn ping(&self) -> redis::RedisResult<Duration> {
        let started = Instant::now();
        let mut connection = self.connection();
        let _: String = redis::cmd("PING").query_async(&mut connection).await?;
        Ok(started.elapsed())
    }
}
