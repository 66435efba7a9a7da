package sqlstore

import "database/sql"

// WriterDB and ReaderDB hand the external tests the pools behind a store,
// for what the Store interface rightly cannot do: read pragmas, query the
// migration table, try to tamper with the audit log. On PostgreSQL both are
// the same pool.
func WriterDB(db *DB) *sql.DB { return db.write }

func ReaderDB(db *DB) *sql.DB { return db.read }
