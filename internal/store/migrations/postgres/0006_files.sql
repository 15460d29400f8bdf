-- 0006: uploaded files (see the SQLite migration of the same number).
CREATE TABLE files (
    id           TEXT        PRIMARY KEY CHECK (char_length(id) = 36),
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    content_type TEXT        NOT NULL CHECK (char_length(content_type) BETWEEN 1 AND 100),
    size         BIGINT      NOT NULL CHECK (size >= 0),
    sha256       TEXT        NOT NULL CHECK (char_length(sha256) = 64),
    state        TEXT        NOT NULL CHECK (state IN ('pending', 'ready')),
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE INDEX files_user_idx ON files (user_id, created_at);
