-- Privacy mode per dataset (only schema and aggregate statistics go to external providers), and the
-- dataset and version each answer was computed from.
ALTER TABLE datasets ADD COLUMN privacy INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chat_messages ADD COLUMN dataset_id TEXT;
ALTER TABLE chat_messages ADD COLUMN dataset_version TEXT;
