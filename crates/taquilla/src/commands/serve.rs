//! `taquilla serve`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use taquilla_app::demo::{DEMO_TENANT_SLUG, DEMO_USERS};
use taquilla_app::{Application, Config};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: Config,

    /// Create (once) a demo tenant with fixed credentials, a 2,500-place hall,
    /// an event on sale and a sample exchange rate for today.
    #[arg(long)]
    demo: bool,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // Held until `run` returns, so the log files get every line up to `server_stopped` and the
    // last spans are sent.
    let _log_files = taquilla_app::telemetry::init_with_files(&args.config)?;
    let _sentry = taquilla_app::telemetry::init_sentry(&args.config);
    let application =
        Application::build(args.config, Arc::new(taquilla_store::SystemClock)).await?;

    if args.demo {
        let demo = taquilla_app::demo::seed(application.state()).await?;
        let address = application.local_addr();
        // The banner goes to stdout, so the JSON log stream on stderr gets
        // neither its plain-text lines nor the demo passwords.
        println!();
        println!(
            "  taquilla demo ({}) — tenant `{DEMO_TENANT_SLUG}`, event {}",
            if demo.created {
                "created"
            } else {
                "kept from an earlier run"
            },
            demo.event_id
        );
        println!("  Box office (web): http://{address}/app");
        println!("  API: http://{address}/api/v1   OpenAPI: http://{address}/api/openapi.json");
        for (username, password, role) in DEMO_USERS {
            println!("  {:<14} {username} / {password}", role.as_str());
        }
        println!("  These credentials are for the demo only.");
        println!();
    }

    application
        .run_until_stopped(taquilla_app::startup::shutdown_signal())
        .await?;
    Ok(ExitCode::SUCCESS)
}
