//! The `taquilla` command: parses the command line and dispatches to the
//! subcommands in `commands/`.

mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let cli = commands::Cli::parse();
        match commands::run(cli).await {
            Ok(code) => code,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Caps glibc malloc at two arenas, unless `MALLOC_ARENA_MAX` sets the cap.
/// By default glibc gives busy threads arenas of their own, up to eight per
/// core, and memory freed in one arena is not reused by the others. In the
/// quick-sale benchmark `taquilla serve` peaked at 130 MiB of RSS with the
/// default and at 86 MiB with two arenas, at the same throughput.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt changes a setting of the C allocator. It runs
        // before the async runtime starts, while this is the only thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
