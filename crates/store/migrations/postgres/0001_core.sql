-- Core schema: tenants, users, catalogue, holds, orders, payments, fiscal
-- documents and tickets. Every tenant-owned table leads its primary, unique and
-- foreign keys with tenant_id so the schema can be distributed by tenant.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id UUID PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    rif TEXT NOT NULL,
    fiscal_address TEXT NOT NULL,
    iva_basis_points BIGINT NOT NULL DEFAULT 1600,
    signing_key BYTEA NOT NULL,
    control_prefix BIGINT NOT NULL DEFAULT 0,
    next_control_number BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT tenants_slug_key UNIQUE (slug)
);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    tenant_id UUID REFERENCES tenants (id),
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_role_check CHECK (role IN ('platform_admin', 'tenant_admin', 'cashier', 'validator', 'api_client')),
    CONSTRAINT users_tenant_check CHECK ((role = 'platform_admin') = (tenant_id IS NULL))
);
CREATE INDEX users_tenant_idx ON users (tenant_id, id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    family_id UUID NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE venues (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    city TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE events (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    venue_id UUID NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    starts_at TIMESTAMPTZ NOT NULL,
    sale_starts_at TIMESTAMPTZ,
    sale_ends_at TIMESTAMPTZ,
    hold_minutes BIGINT NOT NULL,
    payment_minutes BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, venue_id) REFERENCES venues (tenant_id, id),
    CONSTRAINT events_status_check CHECK (status IN ('draft', 'active', 'closed', 'cancelled'))
);

CREATE TABLE zones (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    event_id UUID NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    price_usd_cents BIGINT NOT NULL,
    -- Admissions each ticket of the zone allows (multi-entry tickets above 1).
    entries_per_ticket BIGINT NOT NULL DEFAULT 1,
    -- Counters of a general-admission zone; numbered zones count their seats.
    sold BIGINT NOT NULL DEFAULT 0,
    held BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id),
    CONSTRAINT zones_kind_check CHECK (kind IN ('general_admission', 'numbered')),
    CONSTRAINT zones_capacity_check CHECK (sold >= 0 AND held >= 0 AND sold + held <= capacity),
    CONSTRAINT zones_price_check CHECK (price_usd_cents >= 0),
    CONSTRAINT zones_entries_check CHECK (entries_per_ticket >= 1)
);
CREATE INDEX zones_event_idx ON zones (tenant_id, event_id, id);

CREATE TABLE seats (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    zone_id UUID NOT NULL,
    row_index BIGINT NOT NULL,
    row_label TEXT NOT NULL,
    number BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'available',
    hold_id UUID,
    hold_expires_at TIMESTAMPTZ,
    order_id UUID,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, zone_id) REFERENCES zones (tenant_id, id),
    CONSTRAINT seats_position_key UNIQUE (tenant_id, zone_id, row_index, number),
    CONSTRAINT seats_status_check CHECK (status IN ('available', 'held', 'sold'))
);
CREATE INDEX seats_hold_idx ON seats (tenant_id, hold_id);

CREATE TABLE holds (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    event_id UUID NOT NULL,
    zone_id UUID NOT NULL,
    kind TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    status TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_by UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, zone_id) REFERENCES zones (tenant_id, id),
    CONSTRAINT holds_status_check CHECK (status IN ('active', 'released', 'expired', 'converted')),
    CONSTRAINT holds_quantity_check CHECK (quantity > 0)
);
CREATE INDEX holds_expiry_idx ON holds (status, expires_at);
CREATE INDEX holds_zone_idx ON holds (tenant_id, zone_id, status, expires_at);

CREATE TABLE hold_seats (
    tenant_id UUID NOT NULL,
    hold_id UUID NOT NULL,
    seat_id UUID NOT NULL,
    PRIMARY KEY (tenant_id, hold_id, seat_id)
);

CREATE TABLE customers (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    document_kind TEXT,
    document TEXT,
    phone TEXT,
    email TEXT,
    -- Lower-case name without accents, for search on both backends.
    search_name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT customers_contact_check CHECK (phone IS NOT NULL OR email IS NOT NULL)
);
CREATE INDEX customers_document_idx ON customers (tenant_id, document);
CREATE INDEX customers_phone_idx ON customers (tenant_id, phone);
CREATE INDEX customers_email_idx ON customers (tenant_id, email);
CREATE INDEX customers_name_idx ON customers (tenant_id, search_name, id);

CREATE TABLE exchange_rates (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    currency TEXT NOT NULL,
    rate_scaled BIGINT NOT NULL,
    effective_date DATE NOT NULL,
    source TEXT NOT NULL,
    supersedes_id UUID,
    superseded BOOLEAN NOT NULL DEFAULT FALSE,
    created_by UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT exchange_rates_positive_check CHECK (rate_scaled > 0)
);
CREATE INDEX exchange_rates_lookup_idx ON exchange_rates (tenant_id, currency, superseded, effective_date);
-- One current rate per date: a correction supersedes the earlier one.
CREATE UNIQUE INDEX exchange_rates_current_key ON exchange_rates (tenant_id, currency, effective_date) WHERE NOT superseded;

CREATE TABLE fiscal_series (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    next_number BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT fiscal_series_code_key UNIQUE (tenant_id, code),
    CONSTRAINT fiscal_series_kind_check CHECK (kind IN ('invoice', 'credit_note'))
);

CREATE TABLE orders (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    hold_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    event_id UUID NOT NULL,
    status TEXT NOT NULL,
    rate_id UUID NOT NULL,
    rate_scaled BIGINT NOT NULL,
    rate_effective_date DATE NOT NULL,
    subtotal_usd_cents BIGINT NOT NULL,
    tax_usd_cents BIGINT NOT NULL,
    total_usd_cents BIGINT NOT NULL,
    subtotal_bs_cents BIGINT NOT NULL,
    tax_bs_cents BIGINT NOT NULL,
    total_bs_cents BIGINT NOT NULL,
    taxes TEXT NOT NULL,
    paid_bs_cents BIGINT NOT NULL DEFAULT 0,
    rounding_bs_cents BIGINT NOT NULL DEFAULT 0,
    payment_deadline TIMESTAMPTZ NOT NULL,
    invoice_id UUID,
    credit_note_id UUID,
    created_by UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    cancelled_at TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, hold_id) REFERENCES holds (tenant_id, id),
    CONSTRAINT orders_hold_key UNIQUE (tenant_id, hold_id),
    CONSTRAINT orders_status_check CHECK (status IN ('pending', 'paid', 'cancelled', 'expired', 'voided')),
    CONSTRAINT orders_paid_check CHECK (paid_bs_cents >= 0)
);
CREATE INDEX orders_created_idx ON orders (tenant_id, created_at, id);

CREATE TABLE order_lines (
    tenant_id UUID NOT NULL,
    order_id UUID NOT NULL,
    line_number BIGINT NOT NULL,
    zone_id UUID NOT NULL,
    seat_id UUID,
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price_usd_cents BIGINT NOT NULL,
    total_usd_cents BIGINT NOT NULL,
    total_bs_cents BIGINT NOT NULL,
    tax_basis_points BIGINT,
    PRIMARY KEY (tenant_id, order_id, line_number),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);

CREATE TABLE payments (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    order_id UUID NOT NULL,
    method TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    amount_bs_cents BIGINT NOT NULL,
    applied_bs_cents BIGINT NOT NULL,
    change_currency TEXT,
    change_cents BIGINT NOT NULL DEFAULT 0,
    rounding_bs_cents BIGINT NOT NULL DEFAULT 0,
    bank_code TEXT,
    reference TEXT,
    payer_phone TEXT,
    payer_document TEXT,
    pago_movil_reference TEXT,
    created_by UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    CONSTRAINT payments_pago_movil_reference_key UNIQUE (tenant_id, pago_movil_reference),
    CONSTRAINT payments_amount_check CHECK (amount_cents > 0)
);
CREATE INDEX payments_order_idx ON payments (tenant_id, order_id);

CREATE TABLE fiscal_documents (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    series_id UUID NOT NULL,
    kind TEXT NOT NULL,
    number BIGINT NOT NULL,
    control_number TEXT NOT NULL,
    order_id UUID NOT NULL,
    references_document_id UUID,
    issued_at TIMESTAMPTZ NOT NULL,
    total_usd_cents BIGINT NOT NULL,
    total_bs_cents BIGINT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, series_id) REFERENCES fiscal_series (tenant_id, id),
    CONSTRAINT fiscal_documents_number_key UNIQUE (tenant_id, series_id, number),
    CONSTRAINT fiscal_documents_control_key UNIQUE (tenant_id, control_number)
);
CREATE INDEX fiscal_documents_issued_idx ON fiscal_documents (tenant_id, issued_at, id);

-- Fiscal documents are never edited or deleted; a credit note corrects them.
CREATE FUNCTION fiscal_documents_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'fiscal documents are never edited or deleted';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER fiscal_documents_immutable
    BEFORE UPDATE OR DELETE ON fiscal_documents
    FOR EACH ROW EXECUTE FUNCTION fiscal_documents_immutable();

CREATE TABLE tickets (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    code TEXT NOT NULL,
    order_id UUID NOT NULL,
    event_id UUID NOT NULL,
    zone_id UUID NOT NULL,
    seat_id UUID,
    status TEXT NOT NULL,
    uses BIGINT NOT NULL DEFAULT 0,
    max_uses BIGINT NOT NULL DEFAULT 1,
    first_used_at TIMESTAMPTZ,
    first_gate TEXT,
    qr_payload TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id),
    CONSTRAINT tickets_code_key UNIQUE (tenant_id, code),
    CONSTRAINT tickets_status_check CHECK (status IN ('valid', 'cancelled')),
    CONSTRAINT tickets_uses_check CHECK (uses >= 0 AND uses <= max_uses)
);
CREATE INDEX tickets_order_idx ON tickets (tenant_id, order_id);
CREATE INDEX tickets_seat_idx ON tickets (tenant_id, seat_id);

CREATE TABLE validations (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    ticket_id UUID,
    code TEXT NOT NULL,
    result TEXT NOT NULL,
    gate TEXT NOT NULL,
    validated_by UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX validations_ticket_idx ON validations (tenant_id, ticket_id, created_at);

CREATE TABLE idempotency_keys (
    tenant_id UUID NOT NULL,
    principal_id UUID NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code BIGINT NOT NULL,
    response TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, principal_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
