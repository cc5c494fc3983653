//! Fiscal documents (read-only: they are never edited), series, the issuing
//! queue, X and Z reports, verification, and the bank list.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use taquilla_domain::FieldError;
use taquilla_domain::bank::BANKS;
use taquilla_store::model::{
    FiscalDayTotals, FiscalDocument, FiscalIssueItem, FiscalSeries, FiscalVerification,
    NewFiscalSeries, Page, Role, ZReport,
};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, IdPath, NoQuery, PageQuery};
use crate::http::validate;
use crate::issuing::digital_printer::{
    DigitalPrinterAdapter, DigitalPrinterConfig, DigitalPrinterConfigError,
};
use crate::state::AppState;

/// Counts and logs one issued document, whichever path issued it.
pub fn record_document_issued(
    state: &AppState,
    tenant_id: Uuid,
    order_id: Uuid,
    document: &taquilla_store::model::DocumentSummary,
) {
    state
        .metrics
        .fiscal_series_generated_total
        .with_label_values(&[tenant_id.to_string().as_str()])
        .inc();
    tracing::info!(
        event = "fiscal_document_issued",
        tenant.id = %tenant_id,
        order.id = %order_id,
        document.id = %document.id,
        document.kind = %document.kind,
        document.series = %document.series,
        document.number = document.number,
        document.control_number = %document.control_number,
        "fiscal document issued"
    );
}

/// Adapters a series can issue through.
pub const ADAPTERS: [&str; 4] = ["internal", "digital_printer", "fiscal_printer", "offline"];

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
    _query: NoQuery,
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

/// Lists Venezuelan bank codes accepted for transfers and Pago Móvil. The list
/// is a fixed table compiled into the binary, so it has no page.
#[utoipa::path(get, path = "/api/v1/banks", tag = "fiscal", responses((status = 200, body = Vec<Bank>)))]
pub async fn list_banks(_query: NoQuery) -> Json<Vec<Bank>> {
    Json(
        BANKS
            .iter()
            .map(|(code, name)| Bank { code, name })
            .collect(),
    )
}

#[derive(Deserialize, ToSchema)]
pub struct CreateSeries {
    /// Short code printed before the number, e.g. `B` or `T2` (letters and digits, at most 10).
    pub code: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    /// `internal` (default), `digital_printer`, `fiscal_printer`, or `offline` (an
    /// invoice series whose numbers terminals take in blocks to sell offline).
    #[serde(default)]
    pub adapter: Option<String>,
    /// Adapter settings. `digital_printer`: `{"base_url": "...", "api_token": "...", "timeout_ms": 10000}`.
    /// `fiscal_printer`: `{"driver": "simulated"}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub adapter_config: Option<AdapterSettings>,
    #[serde(default)]
    pub description: Option<String>,
    /// Makes this the series used when a sale names none.
    #[serde(default)]
    pub is_default: bool,
    /// For an invoice series: the code of the credit note series that corrects it.
    #[serde(default)]
    pub credit_note_series: Option<String>,
}

/// Checks a series code: 1–10 upper-case letters or digits.
fn series_code(errors: &mut Vec<FieldError>, field: &str, value: &str) -> String {
    let code = value.trim().to_uppercase();
    if code.is_empty() {
        errors.push(FieldError::new(field, "required"));
    } else if code.chars().count() > 10 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        errors.push(FieldError::new(field, "series_code_format"));
    }
    code
}

/// Longest API token a digital-printer series takes.
const MAX_TOKEN_CHARS: usize = 1_000;

/// Adapter settings as sent: a JSON object whose keys do not repeat. A plain
/// `serde_json::Value` keeps the last of two `api_token` keys without a word.
pub struct AdapterSettings(serde_json::Map<String, serde_json::Value>);

impl<'de> Deserialize<'de> for AdapterSettings {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;

        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = AdapterSettings;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("an object of adapter settings")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut entries: A,
            ) -> Result<AdapterSettings, A::Error> {
                let mut settings = serde_json::Map::new();
                while let Some(key) = entries.next_key::<String>()? {
                    if settings.contains_key(&key) {
                        return Err(serde::de::Error::custom(format_args!(
                            "duplicate field `{key}`"
                        )));
                    }
                    let value = entries.next_value()?;
                    settings.insert(key, value);
                }
                Ok(AdapterSettings(settings))
            }
        }

        deserializer.deserialize_map(Keys)
    }
}

impl AdapterSettings {
    fn into_value(self) -> serde_json::Value {
        serde_json::Value::Object(self.0)
    }
}

/// Checks the settings an adapter needs.
fn adapter_config(
    errors: &mut Vec<FieldError>,
    adapter: &str,
    config: Option<serde_json::Value>,
) -> serde_json::Value {
    let config = config.unwrap_or_else(|| serde_json::json!({}));
    if !config.is_object() {
        errors.push(FieldError::new("adapter_config", "must_be_object"));
        return config;
    }
    // A misspelt setting is rejected, so its default does not silently apply.
    let known: &[&str] = match adapter {
        "digital_printer" => &["base_url", "api_token", "timeout_ms"],
        "fiscal_printer" => &["driver"],
        _ => &[],
    };
    if !known.is_empty()
        && let Some(object) = config.as_object()
    {
        let unknown: Vec<String> = object
            .keys()
            .filter(|key| !known.contains(&key.as_str()))
            .cloned()
            .collect();
        errors.extend(crate::http::extract::unknown_field_errors(
            "adapter_config",
            unknown,
        ));
    }
    match adapter {
        "digital_printer" => {
            let url = config["base_url"].as_str().unwrap_or_default();
            let token = config["api_token"].as_str().unwrap_or_default();
            match config.get("api_token") {
                None => errors.push(FieldError::new("adapter_config.api_token", "required")),
                Some(token) if !token.is_string() => {
                    errors.push(FieldError::new("adapter_config.api_token", "invalid_type"));
                }
                Some(_) if token.is_empty() => {
                    errors.push(FieldError::new("adapter_config.api_token", "required"));
                }
                Some(_) if token.chars().count() > MAX_TOKEN_CHARS => {
                    errors.push(FieldError::new("adapter_config.api_token", "too_long"));
                }
                Some(_) if token.chars().any(char::is_control) => {
                    errors.push(FieldError::new(
                        "adapter_config.api_token",
                        "invalid_characters",
                    ));
                }
                // A bearer token is sent in a header: visible ASCII only.
                Some(_) if !token.bytes().all(|byte| byte.is_ascii_graphic()) => {
                    errors.push(FieldError::new(
                        "adapter_config.api_token",
                        "visible_ascii_only",
                    ));
                }
                Some(_) => {}
            }
            let timeout_ms = match config.get("timeout_ms") {
                None => Some(10_000),
                Some(timeout) if !timeout.is_u64() && !timeout.is_i64() => {
                    errors.push(FieldError::new("adapter_config.timeout_ms", "invalid_type"));
                    None
                }
                Some(timeout) => {
                    let ms = timeout.as_u64().filter(|ms| (100..=120_000).contains(ms));
                    if ms.is_none() {
                        errors.push(FieldError::new("adapter_config.timeout_ms", "out_of_range"));
                    }
                    ms
                }
            };
            // Building the adapter applies the same checks the issuing job will,
            // so a series the job cannot use is rejected here.
            let built = DigitalPrinterAdapter::new(DigitalPrinterConfig {
                base_url: url.to_string(),
                api_token: token.to_string(),
                timeout: std::time::Duration::from_millis(timeout_ms.unwrap_or(10_000)),
            });
            if let Err(DigitalPrinterConfigError::InvalidBaseUrl { .. }) = built {
                errors.push(FieldError::new("adapter_config.base_url", "url_format"));
            }
        }
        "fiscal_printer" if config.get("driver").is_none() => {
            errors.push(FieldError::new("adapter_config.driver", "required"));
        }
        "fiscal_printer" if config["driver"].as_str() != Some("simulated") => {
            errors.push(FieldError::new(
                "adapter_config.driver",
                "unknown_printer_driver",
            ));
        }
        "internal" | "offline" if config.as_object().is_some_and(|object| !object.is_empty()) => {
            errors.push(FieldError::new("adapter_config", "not_used_by_adapter"));
        }
        _ => {}
    }
    config
}

/// Creates a numbering series, for example one per box office or terminal.
/// Each series is gapless on its own.
#[utoipa::path(post, path = "/api/v1/fiscal/series", tag = "fiscal", request_body = CreateSeries,
    responses((status = 201, body = FiscalSeries), (status = 409, description = "series_exists"), (status = 422)),
    security(("bearer" = [])))]
pub async fn create_series(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<CreateSeries>,
) -> ApiResult<(StatusCode, Json<FiscalSeries>)> {
    principal.require(&[Role::TenantAdmin])?;
    let body = body.value;
    let mut errors = Vec::new();
    let code = series_code(&mut errors, "code", &body.code);
    if !["invoice", "credit_note"].contains(&body.kind.as_str()) {
        errors.push(FieldError::new("kind", "unknown_document_kind"));
    }
    let adapter = body.adapter.unwrap_or_else(|| "internal".to_string());
    if !ADAPTERS.contains(&adapter.as_str()) {
        errors.push(FieldError::new("adapter", "unknown_adapter"));
    }
    let config = adapter_config(
        &mut errors,
        &adapter,
        body.adapter_config.map(AdapterSettings::into_value),
    );
    // Numbers of an offline series go to terminals in blocks: it never numbers
    // a credit note and is never the series of a sale that names none.
    if adapter == "offline" {
        if body.kind != "invoice" {
            errors.push(FieldError::new("adapter", "offline_invoices_only"));
        }
        if body.is_default {
            errors.push(FieldError::new("is_default", "series_offline_only"));
        }
    }
    let description =
        validate::optional_text(&mut errors, "description", body.description.as_deref(), 200)
            .unwrap_or_default();
    let credit_note_series = match body.credit_note_series.as_deref() {
        Some(value) if body.kind == "invoice" => {
            Some(series_code(&mut errors, "credit_note_series", value))
        }
        Some(_) => {
            errors.push(FieldError::new(
                "credit_note_series",
                "only_for_invoice_series",
            ));
            None
        }
        None => None,
    };
    validate::finish(errors)?;
    let series = state
        .store
        .create_fiscal_series(
            principal.tenant()?,
            NewFiscalSeries {
                code,
                kind: body.kind,
                adapter,
                adapter_config: config,
                description,
                is_default: body.is_default,
                credit_note_series,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(series)))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateSeriesSettings {
    /// The adapter's settings, whole: they replace the stored ones, so send
    /// every setting the adapter needs (for a digital printer, `base_url` and
    /// `api_token`, which is never shown back).
    #[schema(value_type = Object)]
    pub adapter_config: AdapterSettings,
}

/// Returns one series with the documents it has issued.
#[utoipa::path(get, path = "/api/v1/fiscal/series/{id}", tag = "fiscal", params(("id" = Uuid, Path)),
    responses((status = 200, body = FiscalSeries), (status = 404)),
    security(("bearer" = [])))]
pub async fn get_series(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(id): IdPath,
) -> ApiResult<Json<FiscalSeries>> {
    principal.require(&[Role::TenantAdmin, Role::Cashier])?;
    Ok(Json(
        state
            .store
            .get_fiscal_series(principal.tenant()?, id)
            .await?,
    ))
}

/// Replaces the settings of a digital-printer or fiscal-printer series: the
/// provider moved, or its API token was rotated. Documents waiting for the
/// series are tried with the new settings at once, so a cashier whose Z
/// report waits on them can close the day once they are issued. The audit
/// chain records who changed which settings, without their values.
#[utoipa::path(patch, path = "/api/v1/fiscal/series/{id}", tag = "fiscal", params(("id" = Uuid, Path)),
    request_body = UpdateSeriesSettings,
    responses((status = 200, body = FiscalSeries), (status = 404), (status = 422, description = "adapter_config: not_used_by_adapter for internal and offline series, or the rules of series creation")),
    security(("bearer" = [])))]
pub async fn update_series(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    body: ApiJson<UpdateSeriesSettings>,
) -> ApiResult<Json<FiscalSeries>> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    // A series never changes adapter, so the settings are checked against the
    // adapter read here; the store rejects settings for internal and offline series.
    let series = state.store.get_fiscal_series(tenant_id, id).await?;
    let mut errors = Vec::new();
    let config = adapter_config(
        &mut errors,
        &series.adapter,
        Some(body.value.adapter_config.into_value()),
    );
    validate::finish(errors)?;
    let series = state
        .store
        .update_series_settings(tenant_id, id, config, principal.user_id)
        .await?;
    tracing::info!(event = "fiscal_series_settings_changed", tenant.id = %tenant_id, series = %series.code, adapter = %series.adapter, "fiscal series settings replaced");
    state.issuing.notify_one();
    Ok(Json(series))
}

/// Lists a page of the tenant's series with the documents each has issued:
/// invoice series first, then by code.
#[utoipa::path(get, path = "/api/v1/fiscal/series", tag = "fiscal", params(PageQuery),
    responses((status = 200, body = Page<FiscalSeries>), (status = 400, description = "invalid_cursor")),
    security(("bearer" = [])))]
pub async fn list_series(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<FiscalSeries>>> {
    principal.require(&[Role::TenantAdmin, Role::Cashier])?;
    Ok(Json(
        state
            .store
            .list_fiscal_series(principal.tenant()?, query.page()?)
            .await?,
    ))
}

/// Lists documents waiting for an external adapter (pending or rejected).
#[utoipa::path(get, path = "/api/v1/fiscal/issue-queue", tag = "fiscal", params(PageQuery),
    responses((status = 200, body = Page<FiscalIssueItem>)), security(("bearer" = [])))]
pub async fn list_issue_queue(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<FiscalIssueItem>>> {
    principal.require(&[Role::TenantAdmin])?;
    Ok(Json(
        state
            .store
            .list_fiscal_issues(principal.tenant()?, query.page()?)
            .await?,
    ))
}

/// Sends a rejected document to its adapter again (after fixing the cause).
#[utoipa::path(post, path = "/api/v1/fiscal/issue-queue/{id}/retry", tag = "fiscal", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn retry_issue(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> ApiResult<StatusCode> {
    principal.require(&[Role::TenantAdmin])?;
    state
        .store
        .retry_fiscal_issue(principal.tenant()?, id)
        .await?;
    state.issuing.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ReassignIssue {
    /// Code of the series of the same kind that issues the document instead.
    pub series: String,
}

#[derive(Serialize, ToSchema)]
pub struct Reassigned {
    /// The document, when the new series issued it at once (an internal series).
    pub document: Option<taquilla_store::model::DocumentSummary>,
    /// `issued`, or `queued` when the new series has an external adapter.
    pub status: &'static str,
}

/// Moves a rejected document to another series of its kind, for a rejection
/// that retrying cannot fix. You issue it, on your own fiscal day: at once in
/// an internal series, or queued with a new idempotency key for another adapter.
#[utoipa::path(post, path = "/api/v1/fiscal/issue-queue/{id}/reassign", tag = "fiscal", params(("id" = Uuid, Path)),
    request_body = ReassignIssue,
    responses((status = 200, body = Reassigned), (status = 404), (status = 409, description = "issue_not_rejected, issue_same_series, issue_already_issued_by_provider, fiscal_day_closed"), (status = 422)),
    security(("bearer" = [])))]
pub async fn reassign_issue(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    body: ApiJson<ReassignIssue>,
) -> ApiResult<Json<Reassigned>> {
    principal.require(&[Role::TenantAdmin])?;
    let tenant_id = principal.tenant()?;
    let mut errors = Vec::new();
    let series = series_code(&mut errors, "series", &body.value.series);
    validate::finish(errors)?;
    let document = state
        .store
        .reassign_fiscal_issue(tenant_id, id, &series, principal.user_id)
        .await?;
    tracing::info!(event = "fiscal_document_reassigned", tenant.id = %tenant_id, idempotency_key = %id, series = %series, "a rejected fiscal document moved to another series");
    let status = match &document {
        Some(summary) => {
            let order_id = state
                .store
                .get_fiscal_document(tenant_id, summary.id)
                .await?
                .order_id;
            record_document_issued(&state, tenant_id, order_id, summary);
            "issued"
        }
        None => {
            state.issuing.notify_one();
            "queued"
        }
    };
    Ok(Json(Reassigned { document, status }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The cashier; yourself when empty (tenant admins may name any user).
    pub cashier_id: Option<Uuid>,
    /// The fiscal day (America/Caracas), `YYYY-MM-DD`; today when empty.
    #[param(value_type = Option<String>, format = Date)]
    pub date: Option<NaiveDate>,
}

fn is_admin(principal: &Principal) -> bool {
    principal.require(&[Role::TenantAdmin]).is_ok()
}

/// Returns whose day a report is about: yourself, or anyone for a tenant admin.
fn report_cashier(principal: &Principal, requested: Option<Uuid>) -> ApiResult<Uuid> {
    match requested {
        Some(cashier_id) if cashier_id != principal.user_id => {
            principal.require(&[Role::TenantAdmin])?;
            Ok(cashier_id)
        }
        _ => Ok(principal.user_id),
    }
}

/// X report: the totals of a cashier's fiscal day so far. Read-only; it does
/// not close the day.
#[utoipa::path(get, path = "/api/v1/fiscal/reports/x", tag = "fiscal", params(DayQuery),
    responses((status = 200, body = FiscalDayTotals), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn x_report(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<DayQuery>,
) -> ApiResult<Json<FiscalDayTotals>> {
    principal.require(&[Role::TenantAdmin, Role::Cashier])?;
    let cashier_id = report_cashier(&principal, query.cashier_id)?;
    Ok(Json(
        state
            .store
            .fiscal_day_totals(principal.tenant()?, Some(cashier_id), query.date)
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct CloseDay {
    /// The cashier whose day closes; yourself when empty (tenant admins may name any user).
    #[serde(default)]
    pub cashier_id: Option<Uuid>,
    /// The fiscal day to close, `YYYY-MM-DD`; today (America/Caracas) when empty.
    /// An earlier day left open may be closed; a future one may not.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub fiscal_day: Option<NaiveDate>,
}

/// Z report: closes a cashier's fiscal day with its totals, numbered per
/// cashier. Afterwards that cashier cannot sell until the next fiscal day.
/// The body may be `{}` to close your own day today.
#[utoipa::path(post, path = "/api/v1/fiscal/reports/z", tag = "fiscal", request_body = CloseDay,
    responses((status = 201, body = ZReport), (status = 409, description = "z_report_exists, documents_pending_issue"), (status = 422)),
    security(("bearer" = [])))]
pub async fn close_day(
    State(state): State<AppState>,
    principal: Principal,
    body: ApiJson<CloseDay>,
) -> ApiResult<(StatusCode, Json<ZReport>)> {
    principal.require(&[Role::TenantAdmin, Role::Cashier])?;
    let body = body.value;
    let tenant_id = principal.tenant()?;
    let cashier_id = report_cashier(&principal, body.cashier_id)?;
    let report = state
        .store
        .close_fiscal_day(tenant_id, cashier_id, principal.user_id, body.fiscal_day)
        .await?;
    tracing::info!(
        event = "z_report_closed",
        tenant.id = %tenant_id,
        user.id = %cashier_id,
        z_report.id = %report.id,
        z_report.number = report.number,
        fiscal_day = %report.fiscal_day,
        invoices = report.totals.invoices.count,
        credit_notes = report.totals.credit_notes.count,
        net_total_bs_cents = report.totals.net_total_bs_cents,
        "fiscal day closed"
    );
    Ok((StatusCode::CREATED, Json(report)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ZListQuery {
    /// Only this cashier's reports.
    pub cashier_id: Option<Uuid>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Lists Z reports, oldest first.
#[utoipa::path(get, path = "/api/v1/fiscal/reports/z", tag = "fiscal", params(ZListQuery),
    responses((status = 200, body = Page<ZReport>)), security(("bearer" = [])))]
pub async fn list_z_reports(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ZListQuery>,
) -> ApiResult<Json<Page<ZReport>>> {
    principal.require(&[Role::TenantAdmin, Role::Cashier])?;
    // A cashier may list only their own reports.
    let cashier_id = if is_admin(&principal) {
        query.cashier_id
    } else {
        Some(report_cashier(&principal, query.cashier_id)?)
    };
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page()?;
    Ok(Json(
        state
            .store
            .list_z_reports(principal.tenant()?, cashier_id, page)
            .await?,
    ))
}

/// Returns one Z report.
#[utoipa::path(get, path = "/api/v1/fiscal/reports/z/{id}", tag = "fiscal", params(("id" = Uuid, Path)),
    responses((status = 200, body = ZReport), (status = 404)), security(("bearer" = [])))]
pub async fn get_z_report(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
    IdPath(id): IdPath,
) -> ApiResult<Json<ZReport>> {
    principal.require(&[Role::TenantAdmin, Role::Cashier])?;
    let report = state.store.get_z_report(principal.tenant()?, id).await?;
    if !is_admin(&principal) && report.cashier_id != principal.user_id {
        return Err(ApiError::NotFound("Z report"));
    }
    Ok(Json(report))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DailyQuery {
    /// The fiscal day (America/Caracas), `YYYY-MM-DD`; today when empty.
    #[param(value_type = Option<String>, format = Date)]
    pub date: Option<NaiveDate>,
}

/// The tenant-wide summary of a fiscal day: every cashier's documents and payments.
#[utoipa::path(get, path = "/api/v1/fiscal/reports/daily", tag = "fiscal", params(DailyQuery),
    responses((status = 200, body = FiscalDayTotals)), security(("bearer" = [])))]
pub async fn daily_summary(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<DailyQuery>,
) -> ApiResult<Json<FiscalDayTotals>> {
    principal.require(&[Role::TenantAdmin])?;
    Ok(Json(
        state
            .store
            .fiscal_day_totals(principal.tenant()?, None, query.date)
            .await?,
    ))
}

/// Checks the tenant's audit chain, series and Z reports (what
/// `taquilla fiscal verify` prints).
#[utoipa::path(get, path = "/api/v1/fiscal/verify", tag = "fiscal",
    responses((status = 200, body = FiscalVerification)), security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    principal: Principal,
    _query: NoQuery,
) -> ApiResult<Json<FiscalVerification>> {
    principal.require(&[Role::TenantAdmin])?;
    Ok(Json(state.store.verify_fiscal(principal.tenant()?).await?))
}
