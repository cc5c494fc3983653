//! Tickets of an order, gate validation and the key scanners verify QR codes with.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use taquilla_store::model::{Role, Ticket, ValidationOutcome};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, IdPath, NoQuery};
use crate::http::validate;
use crate::state::AppState;
use crate::tickets;

#[derive(Deserialize, ToSchema)]
pub struct ValidateTicket {
    /// The ticket code as typed or read by a plain barcode scanner.
    pub code: Option<String>,
    /// The signed QR payload `TQ1.<code>.<signature>`; its signature is checked.
    pub qr_payload: Option<String>,
    /// Gate name recorded with the scan (default `Principal`).
    pub gate: Option<String>,
    /// Reject tickets of other events.
    pub event_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct Admission {
    /// Always `admitted`; rejections are errors with their own codes.
    pub result: &'static str,
    pub ticket: Ticket,
}

#[derive(Serialize, ToSchema)]
pub struct PublicKey {
    /// Ed25519 public key, base64url without padding.
    pub public_key: String,
    pub algorithm: &'static str,
    /// Format of the signed QR payload.
    pub payload_format: &'static str,
}

/// Lists the tickets of an order with their signed QR payloads. An order is
/// made from one hold, and a hold has at most 50 units on every channel, so
/// the list is bounded and has no page.
#[utoipa::path(get, path = "/api/v1/orders/{id}/tickets", tag = "gate", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Ticket>), (status = 404)), security(("bearer" = [])))]
pub async fn list_tickets(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(order_id): IdPath,
) -> ApiResult<Json<Vec<Ticket>>> {
    principal.require(&[Role::TenantAdmin, Role::Cashier, Role::ApiClient])?;
    Ok(Json(
        state
            .store
            .list_tickets(principal.tenant()?, order_id)
            .await?,
    ))
}

/// Admits a ticket at the gate and records the scan. A second scan of a
/// single-entry ticket is rejected with when and where it was first used.
#[utoipa::path(post, path = "/api/v1/tickets/validate", tag = "gate", request_body = ValidateTicket,
    responses((status = 200, body = Admission), (status = 404, description = "ticket_not_found"),
        (status = 409, description = "ticket_already_used, ticket_cancelled, event_cancelled, ticket_wrong_event, ticket_signature_invalid"), (status = 422)),
    security(("bearer" = [])))]
pub async fn validate_ticket(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<ValidateTicket>,
) -> ApiResult<Json<Admission>> {
    principal.require(&[Role::TenantAdmin, Role::Validator])?;
    let tenant_id = principal.tenant()?;
    let request = body.value;
    let mut errors = Vec::new();
    let gate = validate::optional_text(&mut errors, "gate", request.gate.as_deref(), 100)
        .unwrap_or_else(|| "Principal".to_string());
    let code = match (request.qr_payload.as_deref(), request.code.as_deref()) {
        (Some(payload), _) if !payload.trim().is_empty() => {
            if payload.len() > 300 {
                errors.push(taquilla_domain::FieldError::new("qr_payload", "too_long"));
                String::new()
            } else {
                let secret = state.signing_key(tenant_id).await?;
                match tickets::verify(&secret, tenant_id, payload) {
                    Some(code) => code,
                    None => {
                        tracing::warn!(event = "ticket_rejected", tenant.id = %tenant_id, reason = "signature_invalid", gate = %gate, "ticket rejected");
                        return Err(ApiError::Conflict {
                            code: "ticket_signature_invalid",
                            details: json!({}),
                        });
                    }
                }
            }
        }
        (_, Some(code)) => validate::text(&mut errors, "code", code, 64).to_uppercase(),
        _ => {
            errors.push(taquilla_domain::FieldError::new("code", "required"));
            String::new()
        }
    };
    validate::finish(errors)?;

    let outcome = state
        .store
        .validate_ticket(tenant_id, principal.user_id, &code, &gate, request.event_id)
        .await?;
    match outcome {
        ValidationOutcome::Admitted(ticket) => {
            tracing::info!(event = "ticket_admitted", tenant.id = %tenant_id, ticket.id = %ticket.id, gate = %gate, uses = ticket.uses, "ticket admitted");
            Ok(Json(Admission {
                result: "admitted",
                ticket,
            }))
        }
        ValidationOutcome::AlreadyUsed {
            ticket,
            first_used_at,
            first_gate,
        } => {
            tracing::info!(event = "ticket_rejected", tenant.id = %tenant_id, ticket.id = %ticket.id, reason = "already_used", gate = %gate, "ticket rejected");
            Err(ApiError::Conflict {
                code: "ticket_already_used",
                details: json!({
                    "first_used_at": first_used_at,
                    "first_gate": first_gate,
                    "uses": ticket.uses,
                    "max_uses": ticket.max_uses,
                }),
            })
        }
        ValidationOutcome::Cancelled(ticket) => {
            tracing::info!(event = "ticket_rejected", tenant.id = %tenant_id, ticket.id = %ticket.id, reason = "cancelled", gate = %gate, "ticket rejected");
            Err(ApiError::Conflict {
                code: "ticket_cancelled",
                details: json!({ "ticket_id": ticket.id }),
            })
        }
        ValidationOutcome::EventCancelled(ticket) => {
            tracing::info!(event = "ticket_rejected", tenant.id = %tenant_id, ticket.id = %ticket.id, reason = "event_cancelled", gate = %gate, "ticket rejected");
            Err(ApiError::Conflict {
                code: "event_cancelled",
                details: json!({ "ticket_event_id": ticket.event_id }),
            })
        }
        ValidationOutcome::WrongEvent(ticket) => {
            tracing::info!(event = "ticket_rejected", tenant.id = %tenant_id, ticket.id = %ticket.id, reason = "wrong_event", gate = %gate, "ticket rejected");
            Err(ApiError::Conflict {
                code: "ticket_wrong_event",
                details: json!({ "ticket_event_id": ticket.event_id }),
            })
        }
        ValidationOutcome::Unknown => {
            tracing::info!(event = "ticket_rejected", tenant.id = %tenant_id, reason = "unknown", gate = %gate, "ticket rejected");
            Err(ApiError::Conflict {
                code: "ticket_not_found",
                details: json!({}),
            })
        }
    }
}

/// Returns the tenant's public key, for scanners that verify QR codes offline.
#[utoipa::path(get, path = "/api/v1/tickets/public-key", tag = "gate", responses((status = 200, body = PublicKey)), security(("bearer" = [])))]
pub async fn public_key(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
) -> ApiResult<Json<PublicKey>> {
    principal.require(&[
        Role::TenantAdmin,
        Role::Validator,
        Role::Cashier,
        Role::ApiClient,
    ])?;
    let secret = state.signing_key(principal.tenant()?).await?;
    Ok(Json(PublicKey {
        public_key: tickets::public_key(&secret).map_err(ApiError::internal)?,
        algorithm: "Ed25519",
        payload_format: "TQ1.<code>.<base64url signature over \"TQ1.<tenant_id>.<code>\">",
    }))
}
