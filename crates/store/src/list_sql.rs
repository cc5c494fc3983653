//! SQL text of the queries behind the list endpoints, in one place so that the
//! index tests run `EXPLAIN` on the same text the store runs.
//!
//! Every list is a keyset page. An index that leads with `tenant_id` serves the
//! filter columns and the sort key. The row id ends every sort key, so rows
//! with equal sort values keep a stable order. Queries named `_PAGE`
//! take the last id seen (the nil UUID on the first page) and `limit + 1`, so
//! the store can tell whether a next page exists. A list ordered by other
//! columns than the id has a `_FIRST` query and an `_AFTER` query. The `_AFTER`
//! query reads the sort values of the cursor's row by its id, so the cursor
//! stays an opaque id. A cursor id that names no row of the list gives an empty
//! page.
//!
//! New list queries go here, with a case in `tests/list_indexes.rs`.

macro_rules! user_columns {
    () => {
        "id, tenant_id, username, role, active, created_at, password_hash, failed_logins, locked_until"
    };
}

macro_rules! document_select {
    () => {
        "SELECT d.id, d.kind, s.code AS series, d.number, d.control_number, d.order_id, \
         d.references_document_id, d.issued_at, d.total_usd_cents, d.total_bs_cents, d.content \
         FROM fiscal_documents d JOIN fiscal_series s ON s.tenant_id = d.tenant_id AND s.id = d.series_id"
    };
}

macro_rules! ticket_columns {
    () => {
        "id, code, order_id, event_id, zone_id, seat_id, status, uses, max_uses, first_used_at, \
         first_gate, qr_payload, created_at"
    };
}

macro_rules! zone_columns {
    () => {
        "id, event_id, name, kind, capacity, price_usd_cents, entries_per_ticket, sold, held, \
         row_markup_basis_points, table_mode, tax_exempt, created_at"
    };
}

macro_rules! stage_columns {
    () => {
        "id, event_id, zone_id, position, name, modifier_kind, modifier_value, \
         starts_at, ends_at, quantity_limit, units_sold, ended_at, created_at"
    };
}

macro_rules! transition_columns {
    () => {
        "id, event_id, zone_id, stage_id, trigger, units_sold, occurred_at"
    };
}

macro_rules! tax_rule_columns {
    () => {
        "id, scope, venue_id, event_id, name, category, kind, basis_points, usd_cents, \
         compound, supersedes_id, created_at, ended_at"
    };
}

macro_rules! series_columns {
    () => {
        "id, code, kind, adapter, adapter_config, description, is_default, \
         credit_note_series_id, created_at, next_number"
    };
}

macro_rules! queue_columns {
    () => {
        "tenant_id, id, order_id, series_id, kind, references_document_id, content, \
         total_usd_cents, total_bs_cents, issued_by, status, attempts, last_error, next_attempt_at, created_at"
    };
}

macro_rules! z_columns {
    () => {
        "id, number, cashier_id, fiscal_day, totals, closed_by, closed_at"
    };
}

macro_rules! block_columns {
    () => {
        "id, series_id, terminal, cashier_id, first_number, size, control_prefix, \
         first_control, status, close_reason, last_synced, issued_at, expires_at, closed_at"
    };
}

pub(crate) const USER_COLUMNS: &str = user_columns!();
pub(crate) const DOCUMENT_SELECT: &str = document_select!();
pub(crate) const TICKET_COLUMNS: &str = ticket_columns!();
pub(crate) const STAGE_COLUMNS: &str = stage_columns!();
pub(crate) const TAX_RULE_COLUMNS: &str = tax_rule_columns!();
pub(crate) const SERIES_COLUMNS: &str = series_columns!();
pub(crate) const QUEUE_COLUMNS: &str = queue_columns!();
pub(crate) const Z_COLUMNS: &str = z_columns!();
pub(crate) const BLOCK_COLUMNS: &str = block_columns!();

/// `$1` last id, `$2` limit.
pub const TENANTS_PAGE: &str = "SELECT id, slug, name, rif, fiscal_address, iva_basis_points, created_at \
     FROM tenants WHERE id > $1 ORDER BY id LIMIT $2";

/// `$1` tenant, `$2` last id, `$3` limit.
pub const USERS_PAGE: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
);

/// `$1` tenant, `$2` last id, `$3` limit.
pub const VENUES_PAGE: &str = "SELECT id, name, address, city, created_at FROM venues \
     WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3";

/// `$1` tenant, `$2` last id, `$3` limit.
pub const EVENTS_PAGE: &str = "SELECT id, venue_id, name, description, starts_at, sale_starts_at, sale_ends_at, \
     hold_minutes, payment_minutes, status, pinned_rate_id, created_at FROM events \
     WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3";

/// `$1` tenant, `$2` event, `$3` last id, `$4` limit.
pub const ZONES_PAGE: &str = concat!(
    "SELECT ",
    zone_columns!(),
    " FROM zones WHERE tenant_id = $1 AND event_id = $2 AND id > $3 ORDER BY id LIMIT $4"
);

/// All the stages of an event, `$1` tenant, `$2` event. A stage's status
/// depends on the other stages of its scope, so the store reads the event's
/// stages and pages them in memory.
pub const PRICE_STAGES_OF_EVENT: &str = concat!(
    "SELECT ",
    stage_columns!(),
    " FROM price_stages WHERE tenant_id = $1 AND event_id = $2 ORDER BY position, id"
);

/// `$1` tenant, `$2` event, `$3` limit.
pub const STAGE_TRANSITIONS_FIRST: &str = concat!(
    "SELECT ",
    transition_columns!(),
    " FROM stage_transitions WHERE tenant_id = $1 AND event_id = $2 \
     ORDER BY occurred_at, id LIMIT $3"
);

/// `$1` tenant, `$2` event, `$3` last id, `$4` limit.
pub const STAGE_TRANSITIONS_AFTER: &str = concat!(
    "SELECT ",
    transition_columns!(),
    " FROM stage_transitions WHERE tenant_id = $1 AND event_id = $2 \
     AND (occurred_at, id) > ((SELECT occurred_at FROM stage_transitions \
     WHERE tenant_id = $1 AND event_id = $2 AND id = $3), $3) \
     ORDER BY occurred_at, id LIMIT $4"
);

/// `$1` tenant, `$2` last id, `$3` whether ended rules are included, `$4` limit.
pub const TAX_RULES_PAGE: &str = concat!(
    "SELECT ",
    tax_rule_columns!(),
    " FROM tax_rules WHERE tenant_id = $1 AND id > $2 \
     AND (ended_at IS NULL OR $3) ORDER BY id LIMIT $4"
);

/// `$1` tenant, `$2` event, `$3` last id, `$4` limit.
pub const DISCOUNT_CODES_PAGE: &str = "SELECT id, event_id, code, modifier_kind, modifier_value, max_uses, uses, \
     active, created_at FROM discount_codes WHERE tenant_id = $1 AND event_id = $2 AND id > $3 \
     ORDER BY id LIMIT $4";

macro_rules! customer_select {
    () => {
        "SELECT id, first_name, last_name, document_kind, document, phone, email, created_at \
         FROM customers WHERE tenant_id = $1 AND id > $2 "
    };
}

/// Customers without a filter, `$1` tenant, `$2` last id, `$3` limit.
pub const CUSTOMERS_PAGE: &str = concat!(customer_select!(), "ORDER BY id LIMIT $3");

// The filtered searches take `$1` tenant, `$2` last id, then the filters
// `$3` document, `$4` phone, `$5` email and `$6` a `LIKE` pattern on the search
// name (each NULL when absent), and `$7` limit. The store picks the query by
// the first filter present, which the query states without `IS NULL` so that a
// generic plan can still use that filter's index.

/// Customers by document and the other filters.
pub const CUSTOMERS_BY_DOCUMENT: &str = concat!(
    customer_select!(),
    "AND document = $3 AND ($4 IS NULL OR phone = $4) AND ($5 IS NULL OR email = $5) \
     AND ($6 IS NULL OR search_name LIKE $6) ORDER BY id LIMIT $7"
);

/// Customers by phone and the filters after it.
pub const CUSTOMERS_BY_PHONE: &str = concat!(
    customer_select!(),
    "AND ($3 IS NULL OR document = $3) AND phone = $4 AND ($5 IS NULL OR email = $5) \
     AND ($6 IS NULL OR search_name LIKE $6) ORDER BY id LIMIT $7"
);

/// Customers by e-mail and the name filter.
pub const CUSTOMERS_BY_EMAIL: &str = concat!(
    customer_select!(),
    "AND ($3 IS NULL OR document = $3) AND ($4 IS NULL OR phone = $4) AND email = $5 \
     AND ($6 IS NULL OR search_name LIKE $6) ORDER BY id LIMIT $7"
);

/// Customers by part of the name.
///
/// NOTE: the name pattern starts with `%`, so no B-tree index can narrow it,
/// and a name that few customers match reads the tenant's whole table. On
/// PostgreSQL a trigram index would serve it. SQLite has none.
pub const CUSTOMERS_BY_NAME: &str = concat!(
    customer_select!(),
    "AND ($3 IS NULL OR document = $3) AND ($4 IS NULL OR phone = $4) AND ($5 IS NULL OR email = $5) \
     AND search_name LIKE $6 ORDER BY id LIMIT $7"
);

/// `$1` tenant, `$2` last id, `$3` limit.
pub const EXCHANGE_RATES_PAGE: &str = "SELECT id, currency, rate_scaled, effective_date, source, supersedes_id, \
     superseded, created_at FROM exchange_rates WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3";

/// All the tickets of an order, `$1` tenant, `$2` order. An order is made
/// from one hold, so this list is bounded by a hold's units without a page.
pub const TICKETS_OF_ORDER: &str = concat!(
    "SELECT ",
    ticket_columns!(),
    " FROM tickets WHERE tenant_id = $1 AND order_id = $2 ORDER BY id"
);

/// `$1` tenant, `$2` last id, `$3` limit.
pub const FISCAL_DOCUMENTS_PAGE: &str = concat!(
    document_select!(),
    " WHERE d.tenant_id = $1 AND d.id > $2 ORDER BY d.id LIMIT $3"
);

/// Invoice series first, then by code. `$1` tenant, `$2` limit.
pub const FISCAL_SERIES_FIRST: &str = concat!(
    "SELECT ",
    series_columns!(),
    " FROM fiscal_series WHERE tenant_id = $1 ORDER BY kind DESC, code, id LIMIT $2"
);

/// `$1` tenant, `$2` last id, `$3` limit.
pub const FISCAL_SERIES_AFTER: &str = concat!(
    "SELECT ",
    series_columns!(),
    " FROM fiscal_series WHERE tenant_id = $1 \
     AND (kind < (SELECT kind FROM fiscal_series WHERE tenant_id = $1 AND id = $2) \
     OR (kind = (SELECT kind FROM fiscal_series WHERE tenant_id = $1 AND id = $2) \
     AND (code, id) > ((SELECT code FROM fiscal_series WHERE tenant_id = $1 AND id = $2), $2))) \
     ORDER BY kind DESC, code, id LIMIT $3"
);

/// The code of one series, `$1` tenant, `$2` series: a credit-note series
/// named by a series on the page may sit on another page.
pub const FISCAL_SERIES_CODE: &str =
    "SELECT code FROM fiscal_series WHERE tenant_id = $1 AND id = $2";

/// Documents issued in one offline series, `$1` tenant, `$2` series. Other
/// series number without gaps, so their count is the series' `next_number - 1`.
///
/// NOTE: this count reads every document of the series, through the index
/// (tenant_id, series_id, number) while the series is a small share of the
/// tenant's documents. An offline series with most of them is counted with a
/// sequential scan.
pub const FISCAL_SERIES_DOCUMENT_COUNT: &str =
    "SELECT COUNT(*) FROM fiscal_documents WHERE tenant_id = $1 AND series_id = $2";

/// `$1` tenant, `$2` last id, `$3` limit.
pub const FISCAL_ISSUES_PAGE: &str = concat!(
    "SELECT ",
    queue_columns!(),
    " FROM fiscal_issue_queue WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
);

/// `$1` tenant, `$2` cashier or NULL for all, `$3` last id, `$4` limit.
pub const Z_REPORTS_PAGE: &str = concat!(
    "SELECT ",
    z_columns!(),
    " FROM z_reports WHERE tenant_id = $1 AND ($2 IS NULL OR cashier_id = $2) AND id > $3 \
     ORDER BY id LIMIT $4"
);

/// `$1` tenant, `$2` last id, `$3` limit.
pub const OFFLINE_BLOCKS_PAGE: &str = concat!(
    "SELECT ",
    block_columns!(),
    " FROM offline_blocks WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"
);
