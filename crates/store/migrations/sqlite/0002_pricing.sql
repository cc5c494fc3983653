-- Pricing: price stages and their transitions, row and seat price modifiers,
-- table groups, tax rules with history, IGTF, courtesies and discount codes,
-- and an exchange rate pinned per event.

-- Row markup applied to every row of a numbered zone unless the row overrides it.
ALTER TABLE zones ADD COLUMN row_markup_basis_points BIGINT NOT NULL DEFAULT 0;
-- `by_seat`: table seats sell one by one; `complete_only`: a table sells whole.
ALTER TABLE zones ADD COLUMN table_mode TEXT NOT NULL DEFAULT 'by_seat'
    CONSTRAINT zones_table_mode_check CHECK (table_mode IN ('by_seat', 'complete_only'));
-- Lines of an exempt zone carry no IVA and are marked "(E)".
ALTER TABLE zones ADD COLUMN tax_exempt BOOLEAN NOT NULL DEFAULT 0;

CREATE TABLE zone_row_markups (
    tenant_id BLOB NOT NULL,
    zone_id BLOB NOT NULL,
    row_index BIGINT NOT NULL,
    basis_points BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, zone_id, row_index),
    FOREIGN KEY (tenant_id, zone_id) REFERENCES zones (tenant_id, id)
);

CREATE TABLE table_groups (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    zone_id BLOB NOT NULL,
    name TEXT NOT NULL,
    seat_count BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, zone_id) REFERENCES zones (tenant_id, id),
    CONSTRAINT table_groups_name_key UNIQUE (tenant_id, zone_id, name),
    CONSTRAINT table_groups_seat_count_check CHECK (seat_count > 0)
);

ALTER TABLE seats ADD COLUMN price_modifier_usd_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seats ADD COLUMN table_id BLOB;
CREATE INDEX seats_table_idx ON seats (tenant_id, table_id);

CREATE TABLE price_stages (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    event_id BLOB NOT NULL,
    -- NULL for an event-wide stage.
    zone_id BLOB,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    modifier_kind TEXT NOT NULL,
    modifier_value BIGINT NOT NULL,
    starts_at TEXT,
    ends_at TEXT,
    quantity_limit BIGINT,
    -- Units priced at this stage on pending and paid orders (stages with a limit).
    units_sold BIGINT NOT NULL DEFAULT 0,
    ended_at TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id),
    CONSTRAINT price_stages_modifier_check CHECK (modifier_kind IN ('percent', 'fixed')),
    CONSTRAINT price_stages_limit_check CHECK (quantity_limit IS NULL OR (quantity_limit > 0 AND units_sold <= quantity_limit)),
    CONSTRAINT price_stages_units_check CHECK (units_sold >= 0)
);
CREATE INDEX price_stages_event_idx ON price_stages (tenant_id, event_id, position);
CREATE INDEX price_stages_due_idx ON price_stages (ends_at) WHERE ended_at IS NULL;

CREATE TABLE stage_transitions (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    event_id BLOB NOT NULL,
    zone_id BLOB,
    stage_id BLOB NOT NULL,
    trigger TEXT NOT NULL,
    units_sold BIGINT NOT NULL,
    occurred_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    -- A stage ends once.
    CONSTRAINT stage_transitions_stage_key UNIQUE (tenant_id, stage_id),
    CONSTRAINT stage_transitions_trigger_check CHECK (trigger IN ('date_expired', 'quantity_reached', 'ended_manually'))
);
CREATE INDEX stage_transitions_event_idx ON stage_transitions (tenant_id, event_id, occurred_at);

-- Tax rules are never edited: a change ends the rule and adds its successor.
CREATE TABLE tax_rules (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    id BLOB NOT NULL,
    scope TEXT NOT NULL,
    venue_id BLOB,
    event_id BLOB,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    kind TEXT NOT NULL,
    basis_points BIGINT NOT NULL DEFAULT 0,
    usd_cents BIGINT NOT NULL DEFAULT 0,
    compound BOOLEAN NOT NULL DEFAULT 0,
    supersedes_id BLOB,
    created_by BLOB,
    created_at TEXT NOT NULL,
    ended_at TEXT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT tax_rules_scope_check CHECK (
        (scope = 'tenant' AND venue_id IS NULL AND event_id IS NULL)
        OR (scope = 'venue' AND venue_id IS NOT NULL AND event_id IS NULL)
        OR (scope = 'event' AND event_id IS NOT NULL AND venue_id IS NULL)),
    CONSTRAINT tax_rules_category_check CHECK (category IN ('iva', 'other')),
    CONSTRAINT tax_rules_kind_check CHECK (kind IN ('percentage', 'fixed_per_ticket', 'fixed_per_order'))
);
CREATE INDEX tax_rules_scope_idx ON tax_rules (tenant_id, scope, ended_at);

-- Every existing tenant starts with its IVA as a tenant-wide rule.
INSERT INTO tax_rules (tenant_id, id, scope, name, category, kind, basis_points, created_at)
SELECT id, randomblob(16), 'tenant', 'IVA', 'iva', 'percentage', iva_basis_points, created_at FROM tenants;

-- IGTF: collected only by a designated special taxpayer, on the listed methods.
ALTER TABLE tenants ADD COLUMN igtf_enabled BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN igtf_basis_points BIGINT NOT NULL DEFAULT 300;
ALTER TABLE tenants ADD COLUMN igtf_methods TEXT NOT NULL DEFAULT 'cash';

ALTER TABLE events ADD COLUMN pinned_rate_id BLOB;

CREATE TABLE discount_codes (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    event_id BLOB NOT NULL,
    code TEXT NOT NULL,
    modifier_kind TEXT NOT NULL,
    modifier_value BIGINT NOT NULL,
    max_uses BIGINT NOT NULL,
    uses BIGINT NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id),
    CONSTRAINT discount_codes_code_key UNIQUE (tenant_id, event_id, code),
    CONSTRAINT discount_codes_modifier_check CHECK (modifier_kind IN ('percent', 'fixed')),
    CONSTRAINT discount_codes_uses_check CHECK (uses >= 0 AND uses <= max_uses)
);

ALTER TABLE orders ADD COLUMN courtesy BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN discount_code_id BLOB;
ALTER TABLE orders ADD COLUMN igtf_usd_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN igtf_bs_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN rate_source TEXT NOT NULL DEFAULT '';

ALTER TABLE order_lines ADD COLUMN stage_id BLOB;
-- The unit price's steps (base, stage, row, seat, discount) as JSON.
ALTER TABLE order_lines ADD COLUMN price_breakdown TEXT NOT NULL DEFAULT '{}';
-- The tax rules applied to the line, frozen as JSON.
ALTER TABLE order_lines ADD COLUMN tax_rules TEXT NOT NULL DEFAULT '[]';
ALTER TABLE order_lines ADD COLUMN exempt BOOLEAN NOT NULL DEFAULT 0;

ALTER TABLE payments ADD COLUMN rate_scaled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN igtf_basis_points BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN igtf_base_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN igtf_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN igtf_bs_cents BIGINT NOT NULL DEFAULT 0;

-- Per-event sums (exporter, dashboards) read the orders of one event.
CREATE INDEX orders_event_idx ON orders (tenant_id, event_id, status);
