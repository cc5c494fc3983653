//! Authentication: Argon2id password hashes computed on the blocking pool,
//! short-lived JWT access tokens, rotating refresh tokens, and the
//! [`Principal`] extractor that every protected handler takes.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use taquilla_store::model::Role;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

const ISSUER: &str = "taquilla";
const AUDIENCE: &str = "taquilla-api";
const TOKEN_LEEWAY_SECONDS: i64 = 5;

/// Hashes and verifies passwords with Argon2id. At most one hash per core runs
/// at a time, so a burst of logins queues instead of exhausting memory.
#[derive(Clone)]
pub struct PasswordHashing {
    params: Params,
    permits: Arc<Semaphore>,
}

impl PasswordHashing {
    pub fn new(memory_kib: u32, iterations: u32) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|error| anyhow::anyhow!("invalid Argon2 parameters: {error}"))?;
        let cores = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2);
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
        })
    }

    fn hasher(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Returns the PHC string of `password`.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let hasher = self.hasher();
        tokio::task::spawn_blocking(move || {
            hasher
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|error| anyhow::anyhow!("hashing a password failed: {error}"))
        })
        .await?
    }

    /// Checks `password` against a PHC string; the hash's own parameters apply.
    pub async fn verify(&self, password: String, hash: String) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let hasher = self.hasher();
        tokio::task::spawn_blocking(move || {
            Ok(hasher
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok())
        })
        .await?
    }
}

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    /// Tenant of the user; absent for platform admins.
    pub tid: Option<Uuid>,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// Signs and checks access tokens with HS256.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    /// Builds the keys; fails on an empty secret, which jsonwebtoken rejects.
    pub fn new(secret: &[u8]) -> anyhow::Result<Self> {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        // Expiry is checked against the application clock in `check`, so tests
        // that move the clock also expire tokens.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
        })
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        tenant_id: Option<Uuid>,
        role: Role,
        now: DateTime<Utc>,
        lifetime_minutes: i64,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user_id,
            tid: tenant_id,
            role,
            iat: now.timestamp(),
            exp: (now + chrono::Duration::minutes(lifetime_minutes)).timestamp(),
            iss: ISSUER.to_string(),
            aud: AUDIENCE.to_string(),
        };
        Ok(encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Returns the claims of a token signed with this key, issued for taquilla
    /// and not expired at `now` (5 seconds of leeway).
    pub fn check(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        (claims.exp + TOKEN_LEEWAY_SECONDS > now.timestamp()).then_some(claims)
    }
}

/// Returns 32 random bytes, hex-encoded: refresh tokens, secrets, ticket codes.
pub fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system random source is available");
    hex::encode(bytes)
}

/// Returns the SHA-256 of a token; only hashes of refresh tokens are stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub role: Role,
    /// The user's own tenant, or for a platform admin the one named in `X-Tenant-Id`.
    pub tenant_id: Option<Uuid>,
}

impl Principal {
    /// Returns the tenant every read and write of this request is scoped to.
    pub fn tenant(&self) -> Result<Uuid, ApiError> {
        self.tenant_id
            .ok_or(ApiError::bad_request("tenant_required"))
    }

    /// Rejects the request unless the caller has one of `roles`; a platform
    /// admin may do everything.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.role == Role::PlatformAdmin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

impl<S> FromRequestParts<S> for Principal
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let Some(header) = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
        else {
            // The web pages' scripts authenticate by their session cookie.
            let principal = crate::web::session::api_principal(parts, &state)
                .await?
                .ok_or(ApiError::Unauthorized("missing_token"))?;
            return Ok(record_principal(&state, parts, principal, false));
        };
        let token = header
            .strip_prefix("Bearer ")
            .ok_or(ApiError::Unauthorized("invalid_token"))?;
        let claims = state
            .tokens
            .check(token, state.clock.now())
            .ok_or(ApiError::Unauthorized("invalid_token"))?;

        // Only a platform admin may pick the tenant; for everyone else the
        // header is ignored and the token's tenant applies.
        let tenant_id = if claims.role == Role::PlatformAdmin {
            match parts
                .headers
                .get("x-tenant-id")
                .and_then(|value| value.to_str().ok())
            {
                Some(text) => {
                    let tenant_id = Uuid::parse_str(text.trim())
                        .map_err(|_| ApiError::field("X-Tenant-Id", "uuid"))?;
                    // An unknown tenant is a 404 here, not a foreign-key failure later.
                    state.store.get_tenant(tenant_id).await?;
                    Some(tenant_id)
                }
                None => None,
            }
        } else {
            claims.tid
        };

        let principal = Principal {
            user_id: claims.sub,
            role: claims.role,
            tenant_id,
        };
        let platform_admin = claims.role == Role::PlatformAdmin;
        Ok(record_principal(&state, parts, principal, platform_admin))
    }
}

/// Tags the request's span, Sentry scope and profile with the caller, counts
/// the user as active, and stores the principal in the request's extensions.
fn record_principal(
    state: &AppState,
    parts: &mut Parts,
    principal: Principal,
    platform_admin: bool,
) -> Principal {
    if let Some(tenant_id) = principal.tenant_id {
        tracing::Span::current().record("tenant.id", tracing::field::display(tenant_id));
        if !platform_admin {
            state
                .metrics
                .touch_user(tenant_id, principal.user_id, state.clock.now());
        }
        sentry::configure_scope(|scope| scope.set_tag("tenant_id", tenant_id));
    }
    tracing::Span::current().record("user.id", tracing::field::display(principal.user_id));
    crate::profiling::record_caller(principal.tenant_id, principal.user_id);
    parts.extensions.insert(principal.clone());
    principal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_only_its_password() {
        let hashing = PasswordHashing::new(64, 1).unwrap();
        let hash = hashing.hash("correcto-123".to_string()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hashing
                .verify("correcto-123".to_string(), hash.clone())
                .await
                .unwrap()
        );
        assert!(
            !hashing
                .verify("incorrecto".to_string(), hash)
                .await
                .unwrap()
        );
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef").unwrap();
        let user = Uuid::now_v7();
        let token = keys
            .issue(user, None, Role::Cashier, Utc::now(), 5)
            .unwrap();
        assert_eq!(keys.check(&token, Utc::now()).unwrap().sub, user);

        let other = TokenKeys::new(b"another-secret-another-secret-xx").unwrap();
        assert!(other.check(&token, Utc::now()).is_none());
        let expired = keys
            .issue(
                user,
                None,
                Role::Cashier,
                Utc::now() - chrono::Duration::hours(1),
                5,
            )
            .unwrap();
        assert!(keys.check(&expired, Utc::now()).is_none());
    }
}
