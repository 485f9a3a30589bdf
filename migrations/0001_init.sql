-- Conversations, their messages, and every LLM call made for them.

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    title       TEXT NOT NULL DEFAULT '',
    dataset_id  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX idx_sessions_user ON sessions (user_id, updated_at);

CREATE TABLE chat_messages (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content     TEXT NOT NULL,
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL
);
CREATE INDEX idx_chat_messages_session ON chat_messages (session_id, created_at);

CREATE TABLE llm_calls (
    id                 TEXT PRIMARY KEY,
    created_at         TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    session_id         TEXT NOT NULL,
    provider           TEXT NOT NULL,
    model              TEXT NOT NULL,
    call_type          TEXT NOT NULL,
    status             TEXT NOT NULL,
    prompt_excerpt     TEXT NOT NULL DEFAULT '' CHECK (length(prompt_excerpt) <= 1000),
    response_excerpt   TEXT NOT NULL DEFAULT '' CHECK (length(response_excerpt) <= 1000),
    prompt_tokens      INTEGER NOT NULL DEFAULT 0,
    completion_tokens  INTEGER NOT NULL DEFAULT 0,
    total_tokens       INTEGER NOT NULL DEFAULT 0,
    latency_ms         INTEGER NOT NULL DEFAULT 0,
    metadata           TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_llm_calls_session ON llm_calls (session_id, created_at);
CREATE INDEX idx_llm_calls_user ON llm_calls (user_id, created_at);
