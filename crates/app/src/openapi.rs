//! The OpenAPI document served at `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::{
    admin, auth, catalogue, customers, fiscal, gate, health, offline, operations, pricing, print,
    profiling, sales,
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "taquilla",
        description = "Point-of-sale API for event tickets in Venezuela. Errors use the envelope \
            {\"error\": {\"code\", \"message\", \"details\"}}; messages are Spanish unless Accept-Language asks for English.",
    ),
    modifiers(&BearerAuth),
    paths(
        auth::login, auth::refresh, auth::me,
        admin::create_tenant, admin::list_tenants, admin::create_user, admin::list_users,
        profiling::list_requests, profiling::page,
        operations::snapshot, operations::page, operations::script,
        catalogue::create_venue, catalogue::list_venues, catalogue::get_venue,
        catalogue::create_event, catalogue::list_events, catalogue::get_event, catalogue::sales_summary,
        catalogue::activate_event, catalogue::close_event, catalogue::cancel_event,
        catalogue::create_zone, catalogue::list_zones, catalogue::get_zone, catalogue::availability,
        customers::create_customer, customers::search_customers, customers::get_customer,
        customers::create_exchange_rate, customers::list_exchange_rates,
        pricing::create_stage, pricing::list_stages, pricing::current_stages, pricing::list_transitions, pricing::end_stage,
        pricing::update_zone_pricing, pricing::create_table,
        pricing::create_tax_rule, pricing::list_tax_rules, pricing::end_tax_rule,
        pricing::igtf_settings, pricing::set_igtf_settings,
        pricing::create_discount_code, pricing::list_discount_codes, pricing::pin_rate,
        sales::create_hold, sales::get_hold, sales::release_hold,
        sales::quick_sale, sales::create_order, sales::get_order, sales::cancel_order, sales::add_payment, sales::void_order,
        gate::list_tickets, gate::validate_ticket, gate::public_key,
        fiscal::list_documents, fiscal::get_document, fiscal::list_banks,
        fiscal::create_series, fiscal::list_series, fiscal::get_series, fiscal::update_series, fiscal::list_issue_queue, fiscal::retry_issue, fiscal::reassign_issue,
        fiscal::x_report, fiscal::close_day, fiscal::list_z_reports, fiscal::get_z_report,
        fiscal::daily_summary, fiscal::verify,
        offline::create_block, offline::list_blocks, offline::get_block, offline::sync_block, offline::close_block,
        print::document_html, print::document_pdf, print::tickets_html, print::tickets_pdf,
        health::health, health::live, health::ready, health::metrics, document,
    )
)]
pub struct ApiDoc;

/// Returns this OpenAPI document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
