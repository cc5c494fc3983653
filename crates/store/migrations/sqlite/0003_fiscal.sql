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
ALTER TABLE fiscal_series ADD COLUMN is_default BOOLEAN NOT NULL DEFAULT 0;
-- For an invoice series: the series of the credit notes that correct its invoices.
ALTER TABLE fiscal_series ADD COLUMN credit_note_series_id BLOB;
ALTER TABLE fiscal_series ADD COLUMN created_at TIMESTAMPTZ;
UPDATE fiscal_series SET is_default = 1 WHERE code IN ('A', 'NC');
CREATE UNIQUE INDEX fiscal_series_default_key ON fiscal_series (tenant_id, kind) WHERE is_default = 1;

-- The invoice series an order will be invoiced in, chosen when it is created.
ALTER TABLE orders ADD COLUMN invoice_series_id BLOB;

-- Control numbers are unique per series instead of per tenant: internal
-- series share the tenant's counter, so they never repeat one, while an
-- imprenta digital numbers its own series from 00-00000001. SQLite cannot
-- drop a table constraint, so the table is rebuilt with the new key, with
-- who issued each document and the verification link an imprenta returns.
CREATE TABLE fiscal_documents_rebuilt (
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
    issued_by BLOB,
    verification_url TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, series_id) REFERENCES fiscal_series (tenant_id, id),
    CONSTRAINT fiscal_documents_number_key UNIQUE (tenant_id, series_id, number),
    CONSTRAINT fiscal_documents_control_key UNIQUE (tenant_id, series_id, control_number)
);
INSERT INTO fiscal_documents_rebuilt (tenant_id, id, series_id, kind, number, control_number, order_id,
    references_document_id, issued_at, total_usd_cents, total_bs_cents, content)
    SELECT tenant_id, id, series_id, kind, number, control_number, order_id,
    references_document_id, issued_at, total_usd_cents, total_bs_cents, content FROM fiscal_documents;
DROP TABLE fiscal_documents;
ALTER TABLE fiscal_documents_rebuilt RENAME TO fiscal_documents;
CREATE INDEX fiscal_documents_issued_idx ON fiscal_documents (tenant_id, issued_at, id);
CREATE INDEX fiscal_documents_cashier_idx ON fiscal_documents (tenant_id, issued_by, issued_at);

-- Fiscal documents are never edited or deleted; a credit note corrects them.
CREATE TRIGGER fiscal_documents_no_update
    BEFORE UPDATE ON fiscal_documents
    BEGIN SELECT RAISE(ABORT, 'fiscal documents are never edited or deleted'); END;

CREATE TRIGGER fiscal_documents_no_delete
    BEFORE DELETE ON fiscal_documents
    BEGIN SELECT RAISE(ABORT, 'fiscal documents are never edited or deleted'); END;

CREATE INDEX payments_cashier_idx ON payments (tenant_id, created_by, created_at);

-- Documents waiting for an external adapter. A row leaves the queue when the
-- document is recorded; its id becomes the document id and is the
-- idempotency key sent on every attempt.
CREATE TABLE fiscal_issue_queue (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    order_id BLOB NOT NULL,
    series_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    references_document_id BLOB,
    content TEXT NOT NULL,
    total_usd_cents BIGINT NOT NULL,
    total_bs_cents BIGINT NOT NULL,
    issued_by BLOB NOT NULL,
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
    tenant_id BLOB NOT NULL,
    sequence BIGINT NOT NULL,
    kind TEXT NOT NULL,
    subject_id BLOB NOT NULL,
    payload TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, sequence)
);
CREATE INDEX fiscal_audit_log_subject_idx ON fiscal_audit_log (tenant_id, subject_id);

CREATE TRIGGER fiscal_audit_log_no_update
    BEFORE UPDATE ON fiscal_audit_log
    BEGIN SELECT RAISE(ABORT, 'fiscal audit entries are never edited or deleted'); END;

CREATE TRIGGER fiscal_audit_log_no_delete
    BEFORE DELETE ON fiscal_audit_log
    BEGIN SELECT RAISE(ABORT, 'fiscal audit entries are never edited or deleted'); END;

-- A cashier's fiscal day (the America/Caracas calendar day). The row exists
-- from the day's first document; a Z report closes it. Issuing takes it
-- shared and the Z report exclusively, so no document slips past a Z.
CREATE TABLE cashier_days (
    tenant_id BLOB NOT NULL,
    cashier_id BLOB NOT NULL,
    fiscal_day DATE NOT NULL,
    closed_at TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, cashier_id, fiscal_day)
);

-- Z reports are numbered per cashier; `users.z_reports` is the counter.
ALTER TABLE users ADD COLUMN z_reports BIGINT NOT NULL DEFAULT 0;
CREATE TABLE z_reports (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    cashier_id BLOB NOT NULL,
    number BIGINT NOT NULL,
    fiscal_day DATE NOT NULL,
    totals TEXT NOT NULL,
    closed_by BLOB NOT NULL,
    closed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT z_reports_number_key UNIQUE (tenant_id, cashier_id, number),
    CONSTRAINT z_reports_day_key UNIQUE (tenant_id, cashier_id, fiscal_day)
);

CREATE TRIGGER z_reports_no_update
    BEFORE UPDATE ON z_reports
    BEGIN SELECT RAISE(ABORT, 'Z reports are never edited or deleted'); END;

CREATE TRIGGER z_reports_no_delete
    BEFORE DELETE ON z_reports
    BEGIN SELECT RAISE(ABORT, 'Z reports are never edited or deleted'); END;
