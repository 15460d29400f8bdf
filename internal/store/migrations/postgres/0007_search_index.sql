-- 0007: an index for substring search over users' name and bio.
--
-- pg_trgm's GIN operator class serves LIKE '%…%' for patterns that hold a
-- trigram (three or more letters or digits in a row); the index is lossy and
-- every candidate is rechecked with the LIKE itself, so results are those of
-- the plain scan. The indexes are on lower(…) because the search compares
-- lower(name) and lower(bio): an expression index serves only its own
-- expression. pg_trgm ships with PostgreSQL (postgresql-contrib, part of
-- Debian's postgresql package); CREATE EXTENSION needs a superuser or the
-- database owner (it is a trusted extension since PostgreSQL 13).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX users_name_trgm_idx ON users USING gin (lower(name) gin_trgm_ops);
CREATE INDEX users_bio_trgm_idx ON users USING gin (lower(bio) gin_trgm_ops);
