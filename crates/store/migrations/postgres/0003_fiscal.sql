-- Fiscal compliance: several series per tenant with an issuing adapter each,
-- a queue for documents issued outside the database (digital printer, fiscal
-- printer), a hash-chained audit log of fiscal events, and each cashier's
-- fiscal day with its Z report.

-- `internal`: taquilla numbers the document in the payment transaction.
-- `digital_printer` / `fiscal_printer`: the order commits paid, and a job
-- records the number and control number the adapter returns.
ALTER TABLE fiscal_series ADD COLUMN adapter TEXT NOT NULL DEFAULT 'internal'
    CONSTRAINT fiscal_series_adapter_check CHECK (adapter IN ('internal', 'digital_printer', 'fiscal_printer'));
-- Adapter settings as JSON (for example the digital printer's URL and token).
ALTER TABLE fiscal_series ADD COLUMN adapter_config TEXT NOT NULL DEFAULT '{}';
ALTER TABLE fiscal_series ADD COLUMN description TEXT NOT NULL DEFAULT '';
-- The series a sale uses when the request names none; one per kind.
ALTER TABLE fiscal_series ADD COLUMN is_default BOOLEAN NOT NULL DEFAULT FALSE;
-- For an invoice series: the series of the credit notes that correct its invoices.
ALTER TABLE fiscal_series ADD COLUMN credit_note_series_id UUID;
ALTER TABLE fiscal_series ADD COLUMN created_at TIMESTAMPTZ;
UPDATE fiscal_series SET is_default = TRUE WHERE code IN ('A', 'NC');
CREATE UNIQUE INDEX fiscal_series_default_key ON fiscal_series (tenant_id, kind) WHERE is_default;

-- The invoice series an order will be invoiced in, chosen when it is created.
ALTER TABLE orders ADD COLUMN invoice_series_id UUID;

-- Control numbers are unique per series instead of per tenant: internal
-- series share the tenant's counter, so they never repeat one, while an
-- imprenta digital numbers its own series from 00-00000001.
ALTER TABLE fiscal_documents DROP CONSTRAINT fiscal_documents_control_key;
ALTER TABLE fiscal_documents ADD CONSTRAINT fiscal_documents_control_key UNIQUE (tenant_id, series_id, control_number);

-- Who issued the document (the cashier whose fiscal day it belongs to).
ALTER TABLE fiscal_documents ADD COLUMN issued_by UUID;
-- The verification link an imprenta digital returns, if any.
ALTER TABLE fiscal_documents ADD COLUMN verification_url TEXT;
CREATE INDEX fiscal_documents_cashier_idx ON fiscal_documents (tenant_id, issued_by, issued_at);
CREATE INDEX payments_cashier_idx ON payments (tenant_id, created_by, created_at);

-- Documents waiting for an external adapter. A row leaves the queue when the
-- document is recorded; its id becomes the document id and is the
-- idempotency key sent on every attempt.
CREATE TABLE fiscal_issue_queue (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    order_id UUID NOT NULL,
    series_id UUID NOT NULL,
    kind TEXT NOT NULL,
    references_document_id UUID,
    content TEXT NOT NULL,
    total_usd_cents BIGINT NOT NULL,
    total_bs_cents BIGINT NOT NULL,
    issued_by UUID NOT NULL,
    -- `pending` (retried by the job) or `rejected` (needs an operator).
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, series_id) REFERENCES fiscal_series (tenant_id, id),
    CONSTRAINT fiscal_issue_queue_order_key UNIQUE (tenant_id, order_id, kind),
    CONSTRAINT fiscal_issue_queue_status_check CHECK (status IN ('pending', 'rejected')),
    CONSTRAINT fiscal_issue_queue_kind_check CHECK (kind IN ('invoice', 'credit_note'))
);
CREATE INDEX fiscal_issue_queue_due_idx ON fiscal_issue_queue (status, next_attempt_at);

-- Fiscal events, chained: each entry's hash covers the previous entry's hash,
-- so an edited or deleted entry breaks the chain. `tenants.audit_length` is
-- the chain's length and the lock that orders appends.
ALTER TABLE tenants ADD COLUMN audit_length BIGINT NOT NULL DEFAULT 0;
CREATE TABLE fiscal_audit_log (
    tenant_id UUID NOT NULL,
    sequence BIGINT NOT NULL,
    kind TEXT NOT NULL,
    subject_id UUID NOT NULL,
    payload TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, sequence)
);
CREATE INDEX fiscal_audit_log_subject_idx ON fiscal_audit_log (tenant_id, subject_id);

CREATE FUNCTION fiscal_audit_log_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'fiscal audit entries are never edited or deleted';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER fiscal_audit_log_immutable
    BEFORE UPDATE OR DELETE ON fiscal_audit_log
    FOR EACH ROW EXECUTE FUNCTION fiscal_audit_log_immutable();

-- A cashier's fiscal day (the America/Caracas calendar day). The row exists
-- from the day's first document; a Z report closes it. Issuing takes it
-- shared and the Z report exclusively, so no document slips past a Z.
CREATE TABLE cashier_days (
    tenant_id UUID NOT NULL,
    cashier_id UUID NOT NULL,
    fiscal_day DATE NOT NULL,
    closed_at TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, cashier_id, fiscal_day)
);

-- Z reports are numbered per cashier; `users.z_reports` is the counter.
ALTER TABLE users ADD COLUMN z_reports BIGINT NOT NULL DEFAULT 0;
CREATE TABLE z_reports (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    cashier_id UUID NOT NULL,
    number BIGINT NOT NULL,
    fiscal_day DATE NOT NULL,
    totals TEXT NOT NULL,
    closed_by UUID NOT NULL,
    closed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT z_reports_number_key UNIQUE (tenant_id, cashier_id, number),
    CONSTRAINT z_reports_day_key UNIQUE (tenant_id, cashier_id, fiscal_day)
);

CREATE TRIGGER z_reports_immutable
    BEFORE UPDATE OR DELETE ON z_reports
    FOR EACH ROW EXECUTE FUNCTION fiscal_audit_log_immutable();
