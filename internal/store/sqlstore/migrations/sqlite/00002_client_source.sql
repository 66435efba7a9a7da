-- Who owns each client: the configuration file ('config') or the command
-- line ('runtime'). A client the file declared and no longer does is
-- disabled at the next start; one registered at run time must stay, and
-- without this column the two cannot be told apart. The PostgreSQL twin is
-- ../postgres/00002_client_source.sql.
--
-- Rows that exist before this migration become 'runtime': the next start
-- marks the ones the file declares 'config' (a "source" change in their
-- client.update event). A client removed from the file before the upgrade
-- therefore stays as it is.
--
-- ADD COLUMN may carry NOT NULL with a constant default and a CHECK, STRICT
-- table or not; DROP COLUMN (SQLite 3.35+) may drop a column whose only
-- CHECK is its own.

-- +goose Up
ALTER TABLE clients ADD COLUMN source TEXT NOT NULL DEFAULT 'runtime' CHECK (source IN ('config', 'runtime'));

-- +goose Down
ALTER TABLE clients DROP COLUMN source;
