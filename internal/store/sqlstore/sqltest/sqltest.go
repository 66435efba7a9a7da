// Package sqltest gives tests a private, empty PostgreSQL schema or
// database on the server named by SALLYPORT_TEST_POSTGRES_URL. Without the
// variable the PostgreSQL tests skip locally and fail under CI=true, where
// both dialects must be proven.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Env names the variable holding the PostgreSQL server URL for tests.
const Env = "SALLYPORT_TEST_POSTGRES_URL"

// PostgresURL returns the test server URL, skipping the test when it is not
// set (failing it under CI=true).
func PostgresURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(Env)
	if raw == "" {
		msg := Env + " is not set; point it at a PostgreSQL database the tests may create schemas in, e.g. " +
			Env + "='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI runs the PostgreSQL tests too)")
		}
		t.Skip(msg)
	}
	return raw
}

// NewSchema creates an empty schema sp_<random> in the database at raw,
// drops it (CASCADE) when the test ends, and returns raw with search_path
// set to it. Register it before opening a store on the URL, so the store's
// own cleanup (closing) runs first.
func NewSchema(t testing.TB, raw string) string {
	t.Helper()
	schema := "sp_" + randomHex(8)
	admin := adminDB(t, raw)
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withQuery(t, raw, "search_path", schema)
}

// NewDatabase creates an empty database for tests that need a whole one
// (several processes migrating it, say), dropped when the test ends.
func NewDatabase(t testing.TB, raw string) string {
	t.Helper()
	name := "sallyport_test_" + randomHex(6)
	admin := adminDB(t, raw)
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	u.Path = "/" + name
	return u.String()
}

func withQuery(t testing.TB, raw, key, value string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

var admin struct {
	sync.Mutex // guards db
	db         *sql.DB
}

// adminDB is one small pool per test binary for creating and dropping
// schemas and databases.
func adminDB(t testing.TB, raw string) *sql.DB {
	t.Helper()
	admin.Lock()
	defer admin.Unlock()
	if admin.db == nil {
		db, err := sql.Open("pgx", raw)
		if err != nil {
			t.Fatalf("open %s: %v", Env, err)
		}
		db.SetMaxOpenConns(2)
		admin.db = db
	}
	return admin.db
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
