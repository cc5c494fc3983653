//! `taquilla fiscal verify`: checks tenants' fiscal audit chains, series and
//! Z reports, and exits 1 when anything is broken.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use taquilla_app::Config;
use taquilla_store::model::{FiscalVerification, PageRequest, Tenant};

#[derive(Debug, Args)]
pub struct FiscalArgs {
    #[command(subcommand)]
    command: FiscalCommand,
}

#[derive(Debug, Subcommand)]
enum FiscalCommand {
    /// Check the hash chain of the fiscal audit log, the numbering of every
    /// series (no gap, no duplicate) and the Z report numbers. Exits 1 on any
    /// problem, naming the row at fault.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    config: Config,

    /// Slug of the tenant to check; every tenant when omitted.
    #[arg(long)]
    tenant: Option<String>,

    /// Print the results as JSON (one array) instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: FiscalArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        FiscalCommand::Verify(args) => verify(args).await,
    }
}

/// Returns the tenant named by `slug`, or every tenant.
pub(crate) async fn tenants(
    store: &Arc<dyn taquilla_store::Store>,
    slug: Option<&str>,
) -> anyhow::Result<Vec<Tenant>> {
    if let Some(slug) = slug {
        return match store.get_tenant_by_slug(slug).await? {
            Some(tenant) => Ok(vec![tenant]),
            None => anyhow::bail!("tenant `{slug}` does not exist"),
        };
    }
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_tenants(PageRequest { limit: 200, after })
            .await?;
        after = page.items.last().map(|tenant| tenant.id);
        all.extend(page.items);
        if page.next_cursor.is_none() {
            return Ok(all);
        }
    }
}

fn print_text(tenant: &Tenant, report: &FiscalVerification) {
    let verdict = if report.ok() { "ok" } else { "BROKEN" };
    println!(
        "{} ({}): {verdict}: {} audit entries, {} documents in {} series, {} Z reports",
        tenant.slug,
        tenant.id,
        report.audit_entries,
        report.documents,
        report.series,
        report.z_reports
    );
    for problem in &report.problems {
        println!("  {} at {}: {}", problem.kind, problem.row, problem.detail);
    }
}

async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let _log_files = taquilla_app::telemetry::init_with_files(&args.config)?;
    let state =
        taquilla_app::startup::build_state(args.config, Arc::new(taquilla_store::SystemClock))
            .await?;
    let tenants = tenants(&state.store, args.tenant.as_deref()).await?;
    let mut reports = Vec::with_capacity(tenants.len());
    let mut broken = 0;
    for (index, tenant) in tenants.iter().enumerate() {
        eprintln!(
            "checking tenant {}/{}: {}",
            index + 1,
            tenants.len(),
            tenant.slug
        );
        let report = state.store.verify_fiscal(tenant.id).await?;
        if !report.ok() {
            broken += 1;
        }
        if !args.json {
            print_text(tenant, &report);
        }
        reports.push(report);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    eprintln!("{} tenants checked, {broken} with problems", tenants.len());
    Ok(if broken == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
