-- 0006: uploaded files. A row is 'pending' from the moment its quota is
-- reserved until its object is committed in storage, then 'ready'; pages and
-- the API show only ready rows, and the sweep removes pending rows (and
-- their objects) left by a crash. The object is named by id, a random UUID.
CREATE TABLE files (
    id           TEXT    PRIMARY KEY CHECK (length(id) = 36),
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    content_type TEXT    NOT NULL CHECK (length(content_type) BETWEEN 1 AND 100),
    size         INTEGER NOT NULL CHECK (size >= 0),
    sha256       TEXT    NOT NULL CHECK (length(sha256) = 64),
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'ready')),
    created_at   TEXT    NOT NULL
) STRICT;

CREATE INDEX files_user_idx ON files (user_id, created_at);
