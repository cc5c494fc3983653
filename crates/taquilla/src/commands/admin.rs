//! `taquilla create-admin`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use taquilla_app::Config;
use taquilla_domain::identity::Rif;
use taquilla_store::model::{NewTenant, NewUser, Role};

#[derive(Debug, Args)]
pub struct CreateAdminArgs {
    #[command(flatten)]
    config: Config,

    #[arg(long)]
    username: String,

    #[arg(long)]
    email: String,

    /// At least 8 characters.
    #[arg(long, env = "TAQUILLA_ADMIN_PASSWORD", hide_env_values = true)]
    password: String,

    /// Slug of the tenant; the user becomes its tenant admin. Without it, a platform admin.
    #[arg(long)]
    tenant: Option<String>,

    /// Creates the tenant if it does not exist: its name («razón social»).
    #[arg(long, requires_all = ["tenant", "tenant_rif", "tenant_address"])]
    tenant_name: Option<String>,

    /// RIF of the tenant to create, for example J-12345678-4.
    #[arg(long)]
    tenant_rif: Option<String>,

    /// Fiscal address of the tenant to create.
    #[arg(long)]
    tenant_address: Option<String>,
}

pub async fn run(args: CreateAdminArgs) -> anyhow::Result<ExitCode> {
    let _log_files = taquilla_app::telemetry::init_with_files(&args.config)?;
    if args.password.chars().count() < 8 {
        anyhow::bail!("the password must have at least 8 characters");
    }
    // The rules of the API's POST /tenants and POST /users.
    if let Some(slug) = &args.tenant
        && !taquilla_app::http::admin::valid_slug(slug)
    {
        anyhow::bail!(
            "invalid --tenant `{slug}`: use 2 to 50 lower-case letters, digits or single dashes between them (`teatro-caracas`)"
        );
    }
    let mut errors = Vec::new();
    taquilla_app::http::validate::email(&mut errors, "email", &args.email);
    if !errors.is_empty() {
        anyhow::bail!(
            "invalid --email `{}`: expected an address like name@example.com",
            args.email
        );
    }
    // The lengths of POST /tenants.
    for (flag, value, max) in [
        ("--tenant-name", &args.tenant_name, 200),
        ("--tenant-address", &args.tenant_address, 300),
    ] {
        if let Some(value) = value {
            taquilla_app::http::validate::text(&mut errors, flag, value, max);
            if let Some(error) = errors.first() {
                anyhow::bail!(
                    "invalid {flag} ({}): give 1 to {max} characters, without control characters",
                    error.rule
                );
            }
        }
    }
    let state =
        taquilla_app::startup::build_state(args.config, Arc::new(taquilla_store::SystemClock))
            .await?;

    let (tenant_id, role) = match &args.tenant {
        None => (None, Role::PlatformAdmin),
        Some(slug) => {
            let tenant = match state.store.get_tenant_by_slug(slug).await? {
                Some(tenant) => tenant,
                None => {
                    let (Some(name), Some(rif), Some(address)) =
                        (&args.tenant_name, &args.tenant_rif, &args.tenant_address)
                    else {
                        anyhow::bail!(
                            "tenant `{slug}` does not exist; pass --tenant-name, --tenant-rif and --tenant-address to create it"
                        );
                    };
                    let rif = Rif::parse(rif, "tenant_rif")
                        .map_err(|error| anyhow::anyhow!("invalid --tenant-rif: {error}"))?;
                    state
                        .store
                        .create_tenant(NewTenant {
                            slug: slug.clone(),
                            name: name.clone(),
                            rif: rif.formatted(),
                            fiscal_address: address.clone(),
                            signing_key: taquilla_app::tickets::new_signing_key(),
                        })
                        .await
                        .context("creating the tenant")?
                }
            };
            (Some(tenant.id), Role::TenantAdmin)
        }
    };

    let password_hash = state.passwords.hash(args.password).await?;
    let user = state
        .store
        .create_user(NewUser {
            tenant_id,
            username: args.username.trim().to_lowercase(),
            email: args.email.trim().to_lowercase(),
            password_hash,
            role,
        })
        .await
        .context("creating the user")?;
    println!(
        "created {} `{}` ({})",
        role.as_str(),
        user.username,
        user.id
    );
    Ok(ExitCode::SUCCESS)
}
