package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sallyport/sallyport/internal/store"
)

// mapErr turns driver errors into the store's sentinels, so callers never
// look at a driver type: no rows → ErrNotFound; a unique, primary-key,
// foreign-key or CHECK violation (a record that breaks a schema rule, such as
// a public client with a secret) → ErrConflict. Everything else passes
// through.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
			sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, sqlite3.SQLITE_CONSTRAINT_CHECK:
			return fmt.Errorf("%w: %s", store.ErrConflict, se.Error())
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505", "23503", "23514": // unique, foreign key, check violation
			return fmt.Errorf("%w: %s (%s)", store.ErrConflict, pe.Message, pe.ConstraintName)
		}
	}
	return err
}

// affectedOne returns ErrNotFound when an UPDATE or DELETE touched no row.
func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
