//! Integration tests of the HTTP API. Every scenario starts the real
//! application on a loopback port and runs once against SQLite (a fresh file
//! in a temporary directory) and once against PostgreSQL (a fresh database,
//! dropped at the end; set TAQUILLA_TEST_PG_ADMIN_URL to use a server other
//! than `postgres://postgres@127.0.0.1:5432/postgres`).

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
mod concurrency;
mod health;
mod helpers;
mod holds;
mod idempotency;
mod isolation;
mod sale_flow;
mod validation;
mod void;
