-- Cost of each call from the price table, and whether its token counts were reported or estimated.
ALTER TABLE llm_calls ADD COLUMN cost_usd REAL;
ALTER TABLE llm_calls ADD COLUMN usage_source TEXT NOT NULL DEFAULT 'reported' CHECK (usage_source IN ('reported', 'estimated'));
