-- Usage reports and monthly budgets (issue 19).
-- Whether a call was made because an earlier provider of the same step gave up.
ALTER TABLE llm_calls ADD COLUMN fallback INTEGER NOT NULL DEFAULT 0 CHECK (fallback IN (0, 1));
-- The call's model had no price: its cost is counted at the most expensive known price, never as zero.
ALTER TABLE llm_calls ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0 CHECK (unpriced IN (0, 1));
-- The admin's report over every user reads calls by time alone.
CREATE INDEX idx_llm_calls_created ON llm_calls (created_at);
-- A user's own monthly budget, set by an admin; NULL means no budget. Without a row, MONTHLY_BUDGET_USD.
CREATE TABLE user_budgets (
    user_id     TEXT PRIMARY KEY,
    budget_usd  REAL CHECK (budget_usd IS NULL OR budget_usd >= 0),
    updated_at  TEXT NOT NULL
);
