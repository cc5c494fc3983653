//! The `taquilla` command: parses the command line and dispatches to the
//! subcommands in `commands/`.

mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tune_malloc();
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

/// Tunes glibc malloc for a long-running server, for each setting the
/// environment does not set itself:
/// - at most two arenas (`MALLOC_ARENA_MAX`). By default glibc gives busy
///   threads arenas of their own, up to eight per core, and memory freed in
///   one arena is not reused by the others. In the quick-sale benchmark
///   `taquilla serve` peaked at 130 MiB of RSS with the default and at 86 MiB
///   with two arenas, at the same throughput.
/// - blocks of 1 MiB or more always in mappings of their own
///   (`MALLOC_MMAP_THRESHOLD_`), which go back to the system when freed. By
///   default glibc raises that threshold to the largest mapped block freed so
///   far, so after one password hash (argon2 takes about 19 MiB) blocks of
///   that size stay in the heap. With 100 tenants signing in, the server
///   peaked at 149 MiB with the default and at 60 MiB with the fixed
///   threshold, at the same throughput.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_malloc() {
    // SAFETY: mallopt changes settings of the C allocator. It runs before
    // the async runtime starts, while this is the only thread.
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}
