//! Login, token refresh and the caller's own profile.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use taquilla_store::model::{RefreshOutcome, User};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Principal, random_token, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, NoQuery};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: User,
}

async fn issue_tokens(
    state: &AppState,
    user: User,
    family_id: Option<(Uuid, String)>,
) -> ApiResult<TokenResponse> {
    let now = state.clock.now();
    let access_token = state
        .tokens
        .issue(
            user.id,
            user.tenant_id,
            user.role,
            now,
            state.config.access_token_minutes,
        )
        .map_err(ApiError::internal)?;
    let refresh_token = match family_id {
        Some((_, token)) => token,
        None => {
            let token = random_token();
            let expires_at = now + chrono::Duration::days(state.config.refresh_token_days);
            state
                .store
                .insert_refresh_token(&token_hash(&token), user.id, Uuid::now_v7(), expires_at)
                .await?;
            token
        }
    };
    Ok(TokenResponse {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.config.access_token_minutes * 60,
        user,
    })
}

/// Exchanges a username and password for an access token and a refresh token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, description = "invalid_credentials"), (status = 429, description = "account_locked or rate_limited")))]
pub async fn login(
    State(state): State<AppState>,
    body: ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let user = check_credentials(&state, body.value).await?;
    Ok(Json(issue_tokens(&state, user, None).await?))
}

/// Checks a username and password with the account lockout, for the API and
/// the web sign-in. Returns the active user they belong to.
pub(crate) async fn check_credentials(state: &AppState, request: LoginRequest) -> ApiResult<User> {
    if request.username.chars().count() > 150 || request.password.len() > 1024 {
        return Err(ApiError::Unauthorized("invalid_credentials"));
    }
    let now = state.clock.now();
    let Some(credentials) = state
        .store
        .find_credentials(&request.username.trim().to_lowercase())
        .await?
    else {
        // Hash anyway so an unknown username takes as long as a wrong password.
        let _ = state.passwords.hash(request.password).await;
        tracing::info!(
            event = "login_failed",
            reason = "unknown_user",
            "login failed"
        );
        return Err(ApiError::Unauthorized("invalid_credentials"));
    };
    let user_id = credentials.user.id;

    // The attempt is counted before the slow password check, so parallel
    // guesses cannot all pass before the lock.
    let lock_until = now + chrono::Duration::minutes(state.config.lockout_minutes);
    let claimed = state
        .store
        .claim_login_attempt(user_id, state.config.max_login_failures, lock_until)
        .await?;
    if !claimed {
        tracing::warn!(event = "login_rejected_locked", user.id = %user_id, "login rejected: account locked");
        let locked_until = credentials
            .locked_until
            .filter(|until| *until > now)
            .unwrap_or(lock_until);
        let seconds = (locked_until - now).num_seconds().max(1) as u64;
        return Err(ApiError::TooManyRequests {
            code: "account_locked",
            retry_after_seconds: seconds,
        });
    }
    let valid = state
        .passwords
        .verify(request.password, credentials.password_hash)
        .await
        .map_err(ApiError::internal)?;
    if !valid || !credentials.user.active {
        tracing::warn!(event = "login_failed", user.id = %user_id, "login failed");
        return Err(ApiError::Unauthorized("invalid_credentials"));
    }

    state.store.record_login_success(user_id).await?;
    tracing::info!(event = "login_succeeded", user.id = %user_id, "login succeeded");
    Ok(credentials.user)
}

/// Exchanges a refresh token for new tokens. Each refresh token works once; a
/// reused token revokes every token issued from the same login.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, description = "invalid_refresh_token"), (status = 429, description = "rate_limited")))]
pub async fn refresh(
    State(state): State<AppState>,
    body: ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let new_token = random_token();
    let expires_at = state.clock.now() + chrono::Duration::days(state.config.refresh_token_days);
    let outcome = state
        .store
        .rotate_refresh_token(
            &token_hash(body.value.refresh_token.trim()),
            &token_hash(&new_token),
            expires_at,
        )
        .await?;
    match outcome {
        RefreshOutcome::Rotated { user_id } => {
            let user = state.store.get_user(user_id).await?;
            if !user.active {
                return Err(ApiError::Unauthorized("invalid_refresh_token"));
            }
            Ok(Json(
                issue_tokens(&state, user, Some((Uuid::nil(), new_token))).await?,
            ))
        }
        RefreshOutcome::Reused => {
            tracing::warn!(
                event = "refresh_token_reused",
                "a used refresh token was presented; its family is revoked"
            );
            Err(ApiError::Unauthorized("invalid_refresh_token"))
        }
        RefreshOutcome::Invalid => Err(ApiError::Unauthorized("invalid_refresh_token")),
    }
}

/// Returns the authenticated user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = User)), security(("bearer" = [])))]
pub async fn me(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
) -> ApiResult<Json<User>> {
    Ok(Json(state.store.get_user(principal.user_id).await?))
}
