-- Indexes for the list endpoints: each serves a list query's filter and its
-- keyset order, so a page reads about `limit` index entries whatever the
-- table's size. The unique id ends every sort key, so ties keep a stable order.

-- Zones of an event are served by zones_event_idx (tenant_id, event_id, id).
-- Lists ordered by id alone over a tenant (venues, events, customers,
-- fiscal documents, …) are served by their primary key (tenant_id, id).

-- Price stages of an event, in position order.
DROP INDEX price_stages_event_idx;
CREATE INDEX price_stages_event_idx ON price_stages (tenant_id, event_id, position, id);

-- Stage transitions of an event, oldest first.
DROP INDEX stage_transitions_event_idx;
CREATE INDEX stage_transitions_event_idx ON stage_transitions (tenant_id, event_id, occurred_at, id);

-- Discount codes of an event.
CREATE INDEX discount_codes_event_idx ON discount_codes (tenant_id, event_id, id);

-- Tickets of an order.
DROP INDEX tickets_order_idx;
CREATE INDEX tickets_order_idx ON tickets (tenant_id, order_id, id);

-- Z reports of one cashier.
CREATE INDEX z_reports_cashier_idx ON z_reports (tenant_id, cashier_id, id);

-- Fiscal series, invoice series first, then by code.
CREATE INDEX fiscal_series_list_idx ON fiscal_series (tenant_id, kind DESC, code, id);
