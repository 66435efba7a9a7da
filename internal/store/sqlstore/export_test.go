package sqlstore

import "database/sql"

// WriterDB and ReaderDB hand the external tests the pools behind a store,
// for what the Store interface rightly cannot do: read pragmas, query the
// migration table, try to tamper with the audit log. On PostgreSQL both are
// the same pool.
func WriterDB(db *DB) *sql.DB { return db.write }

func ReaderDB(db *DB) *sql.DB { return db.read }

// QueuedTx is how many write transactions wait for SQLite's writer;
// BatchCommits is how many batches have committed. Both are 0 on
// PostgreSQL.
func QueuedTx(db *DB) int {
	if db.group == nil {
		return 0
	}
	db.group.mu.Lock()
	defer db.group.mu.Unlock()
	return len(db.group.queue)
}

func BatchCommits(db *DB) int64 {
	if db.group == nil {
		return 0
	}
	return db.group.commits.Load()
}
