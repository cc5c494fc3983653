//! Integration tests of the HTTP API. Every scenario starts the real
//! application on a loopback port and runs twice: against SQLite, in a fresh
//! file in a temporary directory, and against PostgreSQL, in a fresh database
//! that is dropped at the end. The PostgreSQL server is
//! `postgres://postgres@127.0.0.1:5432/postgres` unless
//! TAQUILLA_TEST_PG_ADMIN_URL names another admin URL. Set TEST_LOG=1 to see
//! the application's logs.

/// Generates a `sqlite` and a `postgres` test for each scenario function
/// `async fn name(backend: Backend)` of the calling module.
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )+
        }
    };
}

mod auth;
mod browser;
mod cache;
mod concurrency;
mod fiscal;
mod health;
mod helpers;
mod holds;
mod idempotency;
mod isolation;
mod load_mix;
mod money;
mod monitor;
mod offline;
mod operations;
mod organizer;
mod paging;
mod pricing;
mod print;
mod profiling;
mod quick_sale;
mod rate_limits;
mod sale_flow;
mod sentry;
mod terminal;
mod validation;
mod void;
mod web;
mod web_cashier;
mod web_day_gate;
