//! Tenants (platform admins) and users (tenant admins).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use taquilla_domain::identity::Rif;
use taquilla_store::model::{NewTenant, NewUser, Page, Role, Tenant, User};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, PageQuery};
use crate::http::validate;
use crate::state::AppState;
use crate::tickets::new_signing_key;

#[derive(Deserialize, ToSchema)]
pub struct CreateTenant {
    /// Short unique identifier: 2 to 50 lower-case letters, digits and single
    /// dashes between them.
    pub slug: String,
    /// Issuer name or «razón social» printed on invoices.
    pub name: String,
    pub rif: String,
    pub fiscal_address: String,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateUser {
    pub username: String,
    pub email: String,
    pub password: String,
    /// `tenant_admin`, `cashier`, `validator` or `api_client`.
    pub role: String,
}

/// Returns whether `slug` is a valid tenant slug: 2 to 50 lower-case letters,
/// digits or dashes, each dash between two other characters (`caracas-2`, not
/// `caracas-` or `a--b`).
pub fn valid_slug(slug: &str) -> bool {
    (2..=50).contains(&slug.len())
        && slug
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
}

/// Creates a tenant with its invoice and credit-note series and its ticket-signing key.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "admin", request_body = CreateTenant,
    responses((status = 201, body = Tenant), (status = 409, description = "tenant_slug_taken")), security(("bearer" = [])))]
pub async fn create_tenant(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<CreateTenant>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    if principal.role != Role::PlatformAdmin {
        return Err(ApiError::Forbidden);
    }
    let request = body.value;
    let mut errors = Vec::new();
    let slug = validate::text(&mut errors, "slug", &request.slug, 50).to_lowercase();
    if !slug.is_empty() && !valid_slug(&slug) {
        errors.push(taquilla_domain::FieldError::new("slug", "invalid_value"));
    }
    let name = validate::text(&mut errors, "name", &request.name, 200);
    let fiscal_address =
        validate::text(&mut errors, "fiscal_address", &request.fiscal_address, 300);
    let rif = match Rif::parse(&request.rif, "rif") {
        Ok(rif) => rif.formatted(),
        Err(error) => {
            errors.push(error);
            String::new()
        }
    };
    validate::finish(errors)?;

    let tenant = state
        .store
        .create_tenant(NewTenant {
            slug,
            name,
            rif,
            fiscal_address,
            signing_key: new_signing_key(),
        })
        .await?;
    tracing::info!(event = "tenant_created", tenant.id = %tenant.id, "tenant created");
    Ok((StatusCode::CREATED, Json(tenant)))
}

/// Lists tenants.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "admin", params(PageQuery),
    responses((status = 200, body = Page<Tenant>)), security(("bearer" = [])))]
pub async fn list_tenants(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Tenant>>> {
    if principal.role != Role::PlatformAdmin {
        return Err(ApiError::Forbidden);
    }
    Ok(Json(state.store.list_tenants(query.page()?).await?))
}

/// Creates a user in the caller's tenant.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = CreateUser,
    responses((status = 201, body = User), (status = 409, description = "username_taken")), security(("bearer" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    let request = body.value;
    let mut errors = Vec::new();
    // Usernames are unique across taquilla and compared in lower case.
    let username = validate::text(&mut errors, "username", &request.username, 150).to_lowercase();
    let email = validate::email(&mut errors, "email", &request.email);
    if request.password.chars().count() < 8 {
        errors.push(taquilla_domain::FieldError::new("password", "out_of_range"));
    } else if request.password.len() > 1024 {
        errors.push(taquilla_domain::FieldError::new("password", "too_long"));
    }
    let role = match Role::parse(&request.role) {
        Some(role) if role != Role::PlatformAdmin => Some(role),
        _ => {
            errors.push(taquilla_domain::FieldError::new("role", "invalid_value"));
            None
        }
    };
    validate::finish(errors)?;

    let password_hash = state
        .passwords
        .hash(request.password)
        .await
        .map_err(ApiError::internal)?;
    let user = state
        .store
        .create_user(NewUser {
            tenant_id: Some(tenant_id),
            username,
            email,
            password_hash,
            role: role.expect("validated above"),
        })
        .await?;
    tracing::info!(event = "user_created", tenant.id = %tenant_id, user.id = %user.id, role = user.role.as_str(), "user created");
    Ok((StatusCode::CREATED, Json(user)))
}

/// Lists the users of the caller's tenant.
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", params(PageQuery),
    responses((status = 200, body = Page<User>)), security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<User>>> {
    principal.require(&[Role::TenantAdmin])?;
    Ok(Json(
        state
            .store
            .list_users(principal.tenant()?, query.page()?)
            .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::valid_slug;

    #[test]
    fn slug_rules() {
        for slug in ["demo", "teatro-caracas", "sala-2", "a1"] {
            assert!(valid_slug(slug), "{slug} should be valid");
        }
        for slug in ["a", "-demo", "demo-", "a--b", "Demo", "sala_2", "señal", ""] {
            assert!(!valid_slug(slug), "{slug} should be invalid");
        }
        assert!(valid_slug(&"a".repeat(50)));
        assert!(!valid_slug(&"a".repeat(51)));
    }
}
