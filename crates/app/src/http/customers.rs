//! Customers and exchange rates: the data a cashier captures before a sale.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::Deserialize;
use taquilla_domain::FieldError;
use taquilla_domain::identity::Document;
use taquilla_domain::money::ExchangeRate;
use taquilla_domain::phone::PhoneNumber;
use taquilla_domain::text::fold_for_search;
use taquilla_store::model::{
    Customer, CustomerFilter, ExchangeRateRecord, NewCustomer, NewExchangeRate, Page, Role,
};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::extract::{ApiJson, ApiQuery, IdPath, NoQuery, PageQuery};
use crate::http::validate;
use crate::state::AppState;

const SELLERS: &[Role] = &[Role::TenantAdmin, Role::Cashier, Role::ApiClient];

#[derive(Deserialize, ToSchema)]
pub struct CreateCustomer {
    pub first_name: String,
    pub last_name: String,
    /// Cédula (`V-12.345.678`) or RIF (`J-00124134-5`); spaces, dots and dashes are ignored.
    pub document: Option<String>,
    /// Venezuelan number in any usual form, or a foreign one with `+`; stored as E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// Cédula or RIF, in any usual spelling.
    pub document: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Part of the name.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateExchangeRate {
    /// Bs. per USD as published by the BCV, with up to 8 decimals: `36,12345678` or `36.12345678`.
    pub rate: String,
    /// The BCV «fecha valor», `YYYY-MM-DD` (Caracas date).
    pub effective_date: String,
    /// `manual` (default) or `bcv`.
    pub source: Option<String>,
}

/// Registers a customer after validating document, phone and e-mail.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CreateCustomer,
    responses((status = 201, body = Customer), (status = 422, description = "validation_failed")), security(("bearer" = [])))]
pub async fn create_customer(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<CreateCustomer>,
) -> ApiResult<(StatusCode, Json<Customer>)> {
    principal.require(SELLERS)?;
    let tenant_id = principal.tenant()?;
    let request = body.value;
    let mut errors = Vec::new();
    let first_name = validate::text(&mut errors, "first_name", &request.first_name, 100);
    let last_name = validate::text(&mut errors, "last_name", &request.last_name, 100);

    let mut document_kind = None;
    let mut document = None;
    if let Some(text) = request
        .document
        .as_deref()
        .filter(|text| !text.trim().is_empty())
    {
        match Document::parse(text, "document") {
            Ok(parsed) => {
                document_kind = Some(parsed.kind().as_str().to_string());
                document = Some(parsed.normalised());
            }
            Err(error) => errors.push(error),
        }
    }
    let phone = match request
        .phone
        .as_deref()
        .filter(|text| !text.trim().is_empty())
    {
        Some(text) => match PhoneNumber::parse(text, "phone") {
            Ok(phone) => Some(phone.e164().to_string()),
            Err(error) => {
                errors.push(error);
                None
            }
        },
        None => None,
    };
    let email = request
        .email
        .as_deref()
        .filter(|text| !text.trim().is_empty())
        .map(|text| validate::email(&mut errors, "email", text));
    if request
        .phone
        .as_deref()
        .is_none_or(|text| text.trim().is_empty())
        && email.is_none()
    {
        errors.push(FieldError::new("phone", "contact_required"));
    }
    validate::finish(errors)?;

    let customer = state
        .store
        .create_customer(
            tenant_id,
            NewCustomer {
                search_name: fold_for_search(&format!("{first_name} {last_name}")),
                first_name,
                last_name,
                document_kind,
                document,
                phone,
                email,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(customer)))
}

/// Finds customers by document, phone, e-mail or part of the name.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = Page<Customer>)), security(("bearer" = [])))]
pub async fn search_customers(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<CustomerQuery>,
) -> ApiResult<Json<Page<Customer>>> {
    principal.require(SELLERS)?;
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor.clone(),
    }
    .page()?;
    let mut errors = Vec::new();
    let document = query
        .document
        .as_deref()
        .filter(|text| !text.trim().is_empty())
        .and_then(|text| match Document::parse(text, "document") {
            Ok(document) => Some(document.normalised()),
            Err(error) => {
                errors.push(error);
                None
            }
        });
    let phone = query
        .phone
        .as_deref()
        .filter(|text| !text.trim().is_empty())
        .and_then(|text| match PhoneNumber::parse(text, "phone") {
            Ok(phone) => Some(phone.e164().to_string()),
            Err(error) => {
                errors.push(error);
                None
            }
        });
    let name = validate::optional_text(&mut errors, "q", query.q.as_deref(), 100)
        .map(|name| fold_for_search(&name));
    validate::finish(errors)?;
    let filter = CustomerFilter {
        document,
        phone,
        email: query
            .email
            .map(|email| email.trim().to_lowercase())
            .filter(|email| !email.is_empty()),
        name,
    };
    Ok(Json(
        state
            .store
            .search_customers(principal.tenant()?, filter, page)
            .await?,
    ))
}

/// Returns one customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Customer), (status = 404)), security(("bearer" = [])))]
pub async fn get_customer(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(id): IdPath,
) -> ApiResult<Json<Customer>> {
    principal.require(SELLERS)?;
    Ok(Json(
        state.store.get_customer(principal.tenant()?, id).await?,
    ))
}

/// Records the BCV rate for a date. A second rate for the same date is a
/// correction and supersedes the first; orders already created keep theirs.
#[utoipa::path(post, path = "/api/v1/exchange-rates", tag = "customers", request_body = CreateExchangeRate,
    responses((status = 201, body = ExchangeRateRecord), (status = 422)), security(("bearer" = [])))]
pub async fn create_exchange_rate(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<CreateExchangeRate>,
) -> ApiResult<(StatusCode, Json<ExchangeRateRecord>)> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    let request = body.value;
    let mut errors = Vec::new();
    let rate = ExchangeRate::parse(&request.rate)
        .map_err(|error| errors.push(error))
        .ok();
    let effective_date = NaiveDate::parse_from_str(request.effective_date.trim(), "%Y-%m-%d")
        .map_err(|_| errors.push(FieldError::new("effective_date", "date_format")))
        .ok();
    let source = request.source.unwrap_or_else(|| "manual".to_string());
    if !matches!(source.as_str(), "manual" | "bcv") {
        errors.push(FieldError::new("source", "invalid_value"));
    }
    validate::finish(errors)?;

    let record = state
        .store
        .create_exchange_rate(
            tenant_id,
            principal.user_id,
            NewExchangeRate {
                rate_scaled: rate.expect("validated above").scaled(),
                effective_date: effective_date.expect("validated above"),
                source,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// Lists exchange rates, oldest first.
#[utoipa::path(get, path = "/api/v1/exchange-rates", tag = "customers", params(PageQuery),
    responses((status = 200, body = Page<ExchangeRateRecord>)), security(("bearer" = [])))]
pub async fn list_exchange_rates(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<ExchangeRateRecord>>> {
    principal.require(&[Role::TenantAdmin, Role::Cashier, Role::ApiClient])?;
    Ok(Json(
        state
            .store
            .list_exchange_rates(principal.tenant()?, query.page()?)
            .await?,
    ))
}
