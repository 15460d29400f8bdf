-- 0007: an index for substring search over users' name and bio.
--
-- users_search is an external-content FTS5 table: it stores only the
-- trigram index, the text stays in users (content='users'), and its rowid is
-- the user's id. The trigram tokenizer indexes every run of three characters
-- (case folded), so a MATCH of a quoted phrase of three or more characters
-- finds the rows that contain it as a substring. SearchUsersAfter uses it
-- only to find candidates and checks each with the same LIKE as before, so
-- the results do not depend on how the tokenizer folds case.
CREATE VIRTUAL TABLE users_search USING fts5(
    name, bio,
    content='users', content_rowid='id',
    tokenize='trigram'
);

-- Kept in step with users by triggers, so every write path (the Go code, the
-- sqlite3 shell, a restore) updates the index. An external-content table is
-- told what to remove with the old values: the 'delete' command.
CREATE TRIGGER users_search_ai AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, name, bio) VALUES (new.id, new.name, new.bio);
END;

CREATE TRIGGER users_search_ad AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, name, bio) VALUES ('delete', old.id, old.name, old.bio);
END;

-- Only changes of the indexed columns touch the index: a password change or
-- a sign-in does not.
CREATE TRIGGER users_search_au AFTER UPDATE OF id, name, bio ON users BEGIN
    INSERT INTO users_search (users_search, rowid, name, bio) VALUES ('delete', old.id, old.name, old.bio);
    INSERT INTO users_search (rowid, name, bio) VALUES (new.id, new.name, new.bio);
END;

-- Index the users that exist already.
INSERT INTO users_search (users_search) VALUES ('rebuild');
