//! Fiscal documents (read-only: they are never edited) and the bank list.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use taquilla_domain::bank::BANKS;
use taquilla_store::model::{FiscalDocument, Page, Role};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::extract::{ApiQuery, IdPath, PageQuery};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Bank {
    pub code: &'static str,
    pub name: &'static str,
}

/// Lists invoices and credit notes in issue order.
#[utoipa::path(get, path = "/api/v1/fiscal/documents", tag = "fiscal", params(PageQuery),
    responses((status = 200, body = Page<FiscalDocument>)), security(("bearer" = [])))]
pub async fn list_documents(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<FiscalDocument>>> {
    principal.require(&[Role::TenantAdmin, Role::Cashier])?;
    Ok(Json(
        state
            .store
            .list_fiscal_documents(principal.tenant()?, query.page()?)
            .await?,
    ))
}

/// Returns one fiscal document with its full printable content.
#[utoipa::path(get, path = "/api/v1/fiscal/documents/{id}", tag = "fiscal", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = FiscalDocument), (status = 404)), security(("bearer" = [])))]
pub async fn get_document(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Json<FiscalDocument>> {
    principal.require(&[Role::TenantAdmin, Role::Cashier, Role::ApiClient])?;
    Ok(Json(
        state
            .store
            .get_fiscal_document(principal.tenant()?, id)
            .await?,
    ))
}

/// Lists Venezuelan bank codes accepted for transfers and Pago Móvil.
#[utoipa::path(get, path = "/api/v1/banks", tag = "fiscal", responses((status = 200, body = Vec<Bank>)))]
pub async fn list_banks() -> Json<Vec<Bank>> {
    Json(
        BANKS
            .iter()
            .map(|(code, name)| Bank { code, name })
            .collect(),
    )
}
