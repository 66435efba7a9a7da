package signin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/flow"
	"github.com/sallyport/sallyport/internal/secret"
	"github.com/sallyport/sallyport/internal/session"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
)

func openStore(t *testing.T) (*sqlstore.DB, *secret.KeyRing) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 32)
	rand.Read(b)
	keys, err := secret.ParseKeyRing(base64.StdEncoding.EncodeToString(b))
	if err != nil {
		t.Fatal(err)
	}
	return db, keys
}

// newTestService is a Service on db for https://sso.example.test, with
// what mod changes in its Config.
func newTestService(t *testing.T, db *sqlstore.DB, keys *secret.KeyRing, mod func(*Config)) *Service {
	t.Helper()
	issuer, _ := url.Parse("https://sso.example.test")
	cfg := Config{
		Store: db, Keys: keys, Issuer: issuer, Audit: audit.New(audit.Config{}),
		Flows:    flow.New(flow.Config{Store: db, Keys: keys}),
		Sessions: session.New(session.Config{Store: db}),
	}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func newTestID() string { return uuid.Must(uuid.NewV7()).String() }

func auditTypes(t *testing.T, db store.Store) []string {
	t.Helper()
	evs, err := db.ListAuditEvents(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type+":"+e.Outcome)
	}
	return types
}

// The file is the truth for the connections it declares: created active,
// updated in place (secret re-sealed), left alone when unchanged, disabled
// when removed; every change audited.
func TestSyncConfig(t *testing.T) {
	ctx := context.Background()
	db, keys := openStore(t)
	rec := audit.New(audit.Config{})
	corp := config.Connection{Slug: "corp", Kind: config.KindOIDC, Issuer: "https://idp.example", ClientID: "a", ClientSecret: "s1", EmailPattern: `@example\.com$`}

	if err := SyncConfig(ctx, db, keys, rec, []config.Connection{corp}, newTestID); err != nil {
		t.Fatal(err)
	}
	c, err := db.GetConnectionBySlug(ctx, "corp")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != store.ConnectionActive || c.DisplayName != "Single sign-on" || !c.AutoProvision {
		t.Errorf("created connection %+v", c)
	}
	if strings.Contains(string(c.SecretEnc), "s1") || strings.Contains(string(c.Settings), "s1") {
		t.Error("the client secret is stored in the clear")
	}
	if got, err := OpenSecret(keys, c); got != "s1" || err != nil {
		t.Errorf("OpenSecret = %q, %v", got, err)
	}

	// Unchanged: no write, no audit event.
	if err := SyncConfig(ctx, db, keys, rec, []config.Connection{corp}, newTestID); err != nil {
		t.Fatal(err)
	}
	if n := len(auditTypes(t, db)); n != 1 {
		t.Errorf("%d audit events after an unchanged sync, want 1", n)
	}

	// A new secret is re-sealed and audited as an update.
	corp.ClientSecret = "s2"
	if err := SyncConfig(ctx, db, keys, rec, []config.Connection{corp}, newTestID); err != nil {
		t.Fatal(err)
	}
	c, _ = db.GetConnectionBySlug(ctx, "corp")
	if got, _ := OpenSecret(keys, c); got != "s2" {
		t.Errorf("secret after update %q", got)
	}

	// Removed from the file: disabled, not deleted (identities stay).
	if err := SyncConfig(ctx, db, keys, rec, nil, newTestID); err != nil {
		t.Fatal(err)
	}
	c, _ = db.GetConnectionBySlug(ctx, "corp")
	if c.Status != store.ConnectionDisabled {
		t.Errorf("status after removal %s", c.Status)
	}
	want := []string{"connection.disable:disabled", "connection.update:activated", "connection.create:activated"}
	if got := auditTypes(t, db); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit = %v, want %v", got, want)
	}

	// Back in the file: active again.
	if err := SyncConfig(ctx, db, keys, rec, []config.Connection{corp}, newTestID); err != nil {
		t.Fatal(err)
	}
	if c, _ = db.GetConnectionBySlug(ctx, "corp"); c.Status != store.ConnectionActive {
		t.Errorf("status after re-adding %s", c.Status)
	}
}

// A sealed secret opens only on its own connection's row.
func TestSecretBoundToConnection(t *testing.T) {
	ctx := context.Background()
	db, keys := openStore(t)
	rec := audit.New(audit.Config{})
	decl := []config.Connection{
		{Slug: "a", Kind: config.KindGitHub, ClientID: "a", ClientSecret: "secret-a"},
		{Slug: "b", Kind: config.KindGitHub, ClientID: "b", ClientSecret: "secret-b"},
	}
	if err := SyncConfig(ctx, db, keys, rec, decl, newTestID); err != nil {
		t.Fatal(err)
	}
	a, _ := db.GetConnectionBySlug(ctx, "a")
	b, _ := db.GetConnectionBySlug(ctx, "b")
	b.SecretEnc = a.SecretEnc
	if _, err := OpenSecret(keys, b); !errors.Is(err, secret.ErrDecrypt) {
		t.Errorf("a's ciphertext on b's row: %v, want secret.ErrDecrypt", err)
	}
}

// A changed kind under the same slug is refused, and nothing of the sync
// is kept.
func TestSyncRefusesKindChange(t *testing.T) {
	ctx := context.Background()
	db, keys := openStore(t)
	rec := audit.New(audit.Config{})
	if err := SyncConfig(ctx, db, keys, rec, []config.Connection{{Slug: "x", Kind: config.KindGitHub, ClientID: "a", ClientSecret: "s"}}, newTestID); err != nil {
		t.Fatal(err)
	}
	decl := []config.Connection{
		{Slug: "y", Kind: config.KindGitHub, ClientID: "b", ClientSecret: "s"},
		{Slug: "x", Kind: config.KindFacebook, ClientID: "a", ClientSecret: "s"},
	}
	err := SyncConfig(ctx, db, keys, rec, decl, newTestID)
	if err == nil || !strings.Contains(err.Error(), "kind changed") {
		t.Fatalf("SyncConfig = %v, want a kind-change refusal", err)
	}
	if _, err := db.GetConnectionBySlug(ctx, "y"); !errors.Is(err, store.ErrNotFound) {
		t.Error("a refused sync kept part of its writes")
	}
}
