//! `taquilla health-check`: queries a running server's /health/.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

#[derive(Debug, Args)]
pub struct HealthCheckArgs {
    /// Health endpoint to query.
    #[arg(long, default_value = "http://127.0.0.1:8000/health/")]
    url: String,

    /// Seconds to wait for a response.
    #[arg(long, default_value_t = 5)]
    timeout: u64,

    /// Print the JSON response instead of a summary.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: HealthCheckArgs) -> anyhow::Result<ExitCode> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .build()?;
    let response = match client.get(&args.url).send().await {
        Ok(response) => response,
        Err(error) => {
            eprintln!("unhealthy: {} did not respond: {error}", args.url);
            return Ok(ExitCode::from(2));
        }
    };
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        println!("overall: {}", body["status"].as_str().unwrap_or("unknown"));
        if let Some(components) = body["components"].as_object() {
            for (name, component) in components {
                println!(
                    "  {name:<12} {}",
                    component["status"].as_str().unwrap_or("unknown")
                );
            }
        }
    }
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
