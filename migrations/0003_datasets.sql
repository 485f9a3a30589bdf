-- Uploaded datasets. Each one's rows live in their own table (table_name), created whole before the row
-- here makes the dataset visible.
CREATE TABLE datasets (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    table_name    TEXT NOT NULL UNIQUE,
    version       TEXT NOT NULL,
    row_count     INTEGER NOT NULL,
    column_count  INTEGER NOT NULL,
    size_bytes    INTEGER NOT NULL,
    profile       TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX idx_datasets_user ON datasets (user_id, created_at);
