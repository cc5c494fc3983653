-- Core schema: tenants, users, catalogue, holds, orders, payments, fiscal
-- documents and tickets. Every tenant-owned table leads its primary, unique and
-- foreign keys with tenant_id so the schema can be distributed by tenant.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id BLOB PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    rif TEXT NOT NULL,
    fiscal_address TEXT NOT NULL,
    iva_basis_points INTEGER NOT NULL DEFAULT 1600,
    signing_key BLOB NOT NULL,
    control_prefix INTEGER NOT NULL DEFAULT 0,
    next_control_number INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    CONSTRAINT tenants_slug_key UNIQUE (slug)
);

CREATE TABLE users (
    id BLOB PRIMARY KEY,
    tenant_id BLOB REFERENCES tenants (id),
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_role_check CHECK (role IN ('platform_admin', 'tenant_admin', 'cashier', 'validator', 'api_client')),
    CONSTRAINT users_tenant_check CHECK ((role = 'platform_admin') = (tenant_id IS NULL))
);
CREATE INDEX users_tenant_idx ON users (tenant_id, id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id),
    family_id BLOB NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    revoked BOOLEAN NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE venues (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    id BLOB NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    city TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE events (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    venue_id BLOB NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    sale_starts_at TEXT,
    sale_ends_at TEXT,
    hold_minutes INTEGER NOT NULL,
    payment_minutes INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, venue_id) REFERENCES venues (tenant_id, id),
    CONSTRAINT events_status_check CHECK (status IN ('draft', 'active', 'closed', 'cancelled'))
);

CREATE TABLE zones (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    event_id BLOB NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    price_usd_cents INTEGER NOT NULL,
    -- Admissions each ticket of the zone allows (multi-entry tickets above 1).
    entries_per_ticket INTEGER NOT NULL DEFAULT 1,
    -- Counters of a general-admission zone; numbered zones count their seats.
    sold INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id),
    CONSTRAINT zones_kind_check CHECK (kind IN ('general_admission', 'numbered')),
    CONSTRAINT zones_capacity_check CHECK (sold >= 0 AND held >= 0 AND sold + held <= capacity),
    CONSTRAINT zones_price_check CHECK (price_usd_cents >= 0),
    CONSTRAINT zones_entries_check CHECK (entries_per_ticket >= 1)
);
CREATE INDEX zones_event_idx ON zones (tenant_id, event_id, id);

CREATE TABLE seats (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    zone_id BLOB NOT NULL,
    row_index INTEGER NOT NULL,
    row_label TEXT NOT NULL,
    number INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'available',
    hold_id BLOB,
    hold_expires_at TEXT,
    order_id BLOB,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, zone_id) REFERENCES zones (tenant_id, id),
    CONSTRAINT seats_position_key UNIQUE (tenant_id, zone_id, row_index, number),
    CONSTRAINT seats_status_check CHECK (status IN ('available', 'held', 'sold'))
);
CREATE INDEX seats_hold_idx ON seats (tenant_id, hold_id);

CREATE TABLE holds (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    event_id BLOB NOT NULL,
    zone_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    status TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_by BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, zone_id) REFERENCES zones (tenant_id, id),
    CONSTRAINT holds_status_check CHECK (status IN ('active', 'released', 'expired', 'converted')),
    CONSTRAINT holds_quantity_check CHECK (quantity > 0)
);
CREATE INDEX holds_expiry_idx ON holds (status, expires_at);
CREATE INDEX holds_zone_idx ON holds (tenant_id, zone_id, status, expires_at);

CREATE TABLE hold_seats (
    tenant_id BLOB NOT NULL,
    hold_id BLOB NOT NULL,
    seat_id BLOB NOT NULL,
    PRIMARY KEY (tenant_id, hold_id, seat_id)
);

CREATE TABLE customers (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    id BLOB NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    document_kind TEXT,
    document TEXT,
    phone TEXT,
    email TEXT,
    -- Lower-case name without accents, for search on both backends.
    search_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT customers_contact_check CHECK (phone IS NOT NULL OR email IS NOT NULL)
);
CREATE INDEX customers_document_idx ON customers (tenant_id, document);
CREATE INDEX customers_phone_idx ON customers (tenant_id, phone);
CREATE INDEX customers_email_idx ON customers (tenant_id, email);
CREATE INDEX customers_name_idx ON customers (tenant_id, search_name, id);

CREATE TABLE exchange_rates (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    id BLOB NOT NULL,
    currency TEXT NOT NULL,
    rate_scaled INTEGER NOT NULL,
    effective_date TEXT NOT NULL,
    source TEXT NOT NULL,
    supersedes_id BLOB,
    superseded BOOLEAN NOT NULL DEFAULT 0,
    created_by BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT exchange_rates_positive_check CHECK (rate_scaled > 0)
);
CREATE INDEX exchange_rates_lookup_idx ON exchange_rates (tenant_id, currency, superseded, effective_date);
-- One current rate per date: a correction supersedes the earlier one.
CREATE UNIQUE INDEX exchange_rates_current_key ON exchange_rates (tenant_id, currency, effective_date) WHERE NOT superseded;

CREATE TABLE fiscal_series (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    id BLOB NOT NULL,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    next_number INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT fiscal_series_code_key UNIQUE (tenant_id, code),
    CONSTRAINT fiscal_series_kind_check CHECK (kind IN ('invoice', 'credit_note'))
);

CREATE TABLE orders (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    hold_id BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    event_id BLOB NOT NULL,
    status TEXT NOT NULL,
    rate_id BLOB NOT NULL,
    rate_scaled INTEGER NOT NULL,
    rate_effective_date TEXT NOT NULL,
    subtotal_usd_cents INTEGER NOT NULL,
    tax_usd_cents INTEGER NOT NULL,
    total_usd_cents INTEGER NOT NULL,
    subtotal_bs_cents INTEGER NOT NULL,
    tax_bs_cents INTEGER NOT NULL,
    total_bs_cents INTEGER NOT NULL,
    taxes TEXT NOT NULL,
    paid_bs_cents INTEGER NOT NULL DEFAULT 0,
    rounding_bs_cents INTEGER NOT NULL DEFAULT 0,
    payment_deadline TEXT NOT NULL,
    invoice_id BLOB,
    credit_note_id BLOB,
    created_by BLOB NOT NULL,
    created_at TEXT NOT NULL,
    completed_at TEXT,
    cancelled_at TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, hold_id) REFERENCES holds (tenant_id, id),
    CONSTRAINT orders_hold_key UNIQUE (tenant_id, hold_id),
    CONSTRAINT orders_status_check CHECK (status IN ('pending', 'paid', 'cancelled', 'expired', 'voided')),
    CONSTRAINT orders_paid_check CHECK (paid_bs_cents >= 0)
);
CREATE INDEX orders_created_idx ON orders (tenant_id, created_at, id);

CREATE TABLE order_lines (
    tenant_id BLOB NOT NULL,
    order_id BLOB NOT NULL,
    line_number INTEGER NOT NULL,
    zone_id BLOB NOT NULL,
    seat_id BLOB,
    description TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_usd_cents INTEGER NOT NULL,
    total_usd_cents INTEGER NOT NULL,
    total_bs_cents INTEGER NOT NULL,
    tax_basis_points INTEGER,
    PRIMARY KEY (tenant_id, order_id, line_number),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);

CREATE TABLE payments (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    order_id BLOB NOT NULL,
    method TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    amount_bs_cents INTEGER NOT NULL,
    applied_bs_cents INTEGER NOT NULL,
    change_currency TEXT,
    change_cents INTEGER NOT NULL DEFAULT 0,
    rounding_bs_cents INTEGER NOT NULL DEFAULT 0,
    bank_code TEXT,
    reference TEXT,
    payer_phone TEXT,
    payer_document TEXT,
    pago_movil_reference TEXT,
    created_by BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    CONSTRAINT payments_pago_movil_reference_key UNIQUE (tenant_id, pago_movil_reference),
    CONSTRAINT payments_amount_check CHECK (amount_cents > 0)
);
CREATE INDEX payments_order_idx ON payments (tenant_id, order_id);

CREATE TABLE fiscal_documents (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    series_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    number INTEGER NOT NULL,
    control_number TEXT NOT NULL,
    order_id BLOB NOT NULL,
    references_document_id BLOB,
    issued_at TEXT NOT NULL,
    total_usd_cents INTEGER NOT NULL,
    total_bs_cents INTEGER NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, series_id) REFERENCES fiscal_series (tenant_id, id),
    CONSTRAINT fiscal_documents_number_key UNIQUE (tenant_id, series_id, number),
    CONSTRAINT fiscal_documents_control_key UNIQUE (tenant_id, control_number)
);
CREATE INDEX fiscal_documents_issued_idx ON fiscal_documents (tenant_id, issued_at, id);

-- Fiscal documents are never edited or deleted; a credit note corrects them.
CREATE TRIGGER fiscal_documents_no_update
    BEFORE UPDATE ON fiscal_documents
    BEGIN SELECT RAISE(ABORT, 'fiscal documents are never edited or deleted'); END;

CREATE TRIGGER fiscal_documents_no_delete
    BEFORE DELETE ON fiscal_documents
    BEGIN SELECT RAISE(ABORT, 'fiscal documents are never edited or deleted'); END;

CREATE TABLE tickets (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    code TEXT NOT NULL,
    order_id BLOB NOT NULL,
    event_id BLOB NOT NULL,
    zone_id BLOB NOT NULL,
    seat_id BLOB,
    status TEXT NOT NULL,
    uses INTEGER NOT NULL DEFAULT 0,
    max_uses INTEGER NOT NULL DEFAULT 1,
    first_used_at TEXT,
    first_gate TEXT,
    qr_payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    CONSTRAINT tickets_code_key UNIQUE (tenant_id, code),
    CONSTRAINT tickets_status_check CHECK (status IN ('valid', 'cancelled')),
    CONSTRAINT tickets_uses_check CHECK (uses >= 0 AND uses <= max_uses)
);
CREATE INDEX tickets_order_idx ON tickets (tenant_id, order_id);
CREATE INDEX tickets_seat_idx ON tickets (tenant_id, seat_id);

CREATE TABLE validations (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    ticket_id BLOB,
    code TEXT NOT NULL,
    result TEXT NOT NULL,
    gate TEXT NOT NULL,
    validated_by BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX validations_ticket_idx ON validations (tenant_id, ticket_id, created_at);

CREATE TABLE idempotency_keys (
    tenant_id BLOB NOT NULL,
    principal_id BLOB NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, principal_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
