-- Offline sales: a terminal takes a block of consecutive numbers (and the
-- control numbers that go with them) in an offline invoice series, sells
-- while the venue has no internet and syncs later. Every number of a block
-- ends up either as an invoice or as a voided number, so the series has no gap.

-- `offline`: an invoice series whose numbers terminals take in blocks.
ALTER TABLE fiscal_series DROP CONSTRAINT fiscal_series_adapter_check,
    ADD CONSTRAINT fiscal_series_adapter_check
    CHECK (adapter IN ('internal', 'digital_printer', 'fiscal_printer', 'offline'));

CREATE TABLE offline_blocks (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    series_id UUID NOT NULL,
    terminal TEXT NOT NULL,
    cashier_id UUID NOT NULL,
    first_number BIGINT NOT NULL,
    size BIGINT NOT NULL,
    control_prefix BIGINT NOT NULL,
    first_control BIGINT NOT NULL,
    -- open | closed
    status TEXT NOT NULL,
    -- block_closed (by the terminal or an admin) | block_expired
    close_reason TEXT,
    -- The highest number synced so far; a sync keeps the terminal's order.
    last_synced BIGINT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX offline_blocks_due_idx ON offline_blocks (status, expires_at);
CREATE INDEX offline_blocks_cashier_idx ON offline_blocks (tenant_id, cashier_id, status);

-- What became of each number of a block: `accepted` (an invoice), `rejected`
-- (a sale that could not be taken, with the reason) or `voided` (not used by
-- the terminal, or left unused when the block closed or expired).
CREATE TABLE offline_numbers (
    tenant_id UUID NOT NULL,
    block_id UUID NOT NULL,
    number BIGINT NOT NULL,
    id UUID NOT NULL,
    series_id UUID NOT NULL,
    control_number TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    detail TEXT,
    request_hash TEXT,
    local_id TEXT,
    order_id UUID,
    document_id UUID,
    sold_at TIMESTAMPTZ,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, block_id, number),
    CONSTRAINT offline_numbers_series_key UNIQUE (tenant_id, series_id, number)
);

CREATE TRIGGER offline_numbers_immutable
    BEFORE UPDATE OR DELETE ON offline_numbers
    FOR EACH ROW EXECUTE FUNCTION fiscal_audit_log_immutable();
