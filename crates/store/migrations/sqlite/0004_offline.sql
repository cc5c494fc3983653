-- Offline sales: a terminal takes a block of consecutive numbers (and the
-- control numbers that go with them) in an offline invoice series, sells
-- while the venue has no internet and syncs later. Every number of a block
-- ends up either as an invoice or as a voided number, so the series has no gap.

-- `offline`: an invoice series whose numbers terminals take in blocks.
-- SQLite cannot change a CHECK constraint, so the column is replaced: a
-- column's own constraint goes with it when it is dropped.
ALTER TABLE fiscal_series ADD COLUMN adapter_with_offline TEXT NOT NULL DEFAULT 'internal'
    CONSTRAINT fiscal_series_adapter_check
    CHECK (adapter_with_offline IN ('internal', 'digital_printer', 'fiscal_printer', 'offline'));
UPDATE fiscal_series SET adapter_with_offline = adapter;
ALTER TABLE fiscal_series DROP COLUMN adapter;
ALTER TABLE fiscal_series RENAME COLUMN adapter_with_offline TO adapter;

CREATE TABLE offline_blocks (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    series_id BLOB NOT NULL,
    terminal TEXT NOT NULL,
    cashier_id BLOB NOT NULL,
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
    tenant_id BLOB NOT NULL,
    block_id BLOB NOT NULL,
    number BIGINT NOT NULL,
    id BLOB NOT NULL,
    series_id BLOB NOT NULL,
    control_number TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    detail TEXT,
    request_hash TEXT,
    local_id TEXT,
    order_id BLOB,
    document_id BLOB,
    sold_at TIMESTAMPTZ,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, block_id, number),
    CONSTRAINT offline_numbers_series_key UNIQUE (tenant_id, series_id, number)
);

CREATE TRIGGER offline_numbers_no_update
    BEFORE UPDATE ON offline_numbers
    BEGIN SELECT RAISE(ABORT, 'offline numbers are never edited or deleted'); END;

CREATE TRIGGER offline_numbers_no_delete
    BEFORE DELETE ON offline_numbers
    BEGIN SELECT RAISE(ABORT, 'offline numbers are never edited or deleted'); END;
