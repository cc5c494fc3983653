-- Stages without a quantity limit count their units from the order lines when
-- listed; this index keeps that sum off a scan of every line of the tenant.
-- Lines without a stage, most of them, are left out of it.
CREATE INDEX order_lines_stage_idx ON order_lines (tenant_id, stage_id) WHERE stage_id IS NOT NULL;
