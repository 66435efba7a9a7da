package clients

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
)

// The file is the truth for the clients it declares: created with the
// secret hashed, updated in place, untouched (and unaudited) when
// unchanged; a run-time client with a declared id is taken over, marked as
// the file's.
func TestSyncConfig(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		rec := audit.New(audit.Config{})
		now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		app := config.Client{ID: "app", Name: "App", Secret: "s3cret-from-the-file", RedirectURIs: []string{"https://app.example.com/cb"}}
		spa := config.Client{ID: "spa", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, AccessTokenFormat: "jwt", Disabled: true}
		sync := func(declared ...config.Client) {
			t.Helper()
			if err := SyncConfig(ctx, db, rec, declared, now); err != nil {
				t.Fatal(err)
			}
		}
		get := func(id string) store.Client {
			t.Helper()
			c, err := db.GetClient(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}

		sync(app, spa)
		want := store.Client{
			ID: "app", Name: "App", SecretHash: hashSecret(app.Secret), RedirectURIs: app.RedirectURIs,
			IDTokenSigningAlg: "RS256", AccessTokenFormat: "opaque", AccessTokenTTL: 10 * time.Minute, RefreshTokenTTL: 720 * time.Hour,
			Source: store.ClientFromConfig, CreatedAt: now, UpdatedAt: now,
		}
		if diff := cmp.Diff(want, get("app"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("created client (-want +got):\n%s", diff)
		}
		if c := get("app"); !VerifySecret(c, app.Secret) || VerifySecret(c, "s3cret") {
			t.Error("the file's secret does not verify, or another does")
		}
		if c := get("spa"); !c.Public || c.SecretHash != nil || !c.Disabled || c.AccessTokenFormat != "jwt" {
			t.Errorf("public client %+v", c)
		}

		// Unchanged: no write, no event.
		before := get("app").UpdatedAt
		sync(app, spa)
		if get("app").UpdatedAt != before || len(auditLog(t, db)) != 2 {
			t.Errorf("an unchanged file wrote something: %v", auditLog(t, db))
		}

		// A new secret and redirect URI: one update naming both.
		app.Secret = "another-secret-from-the-file"
		app.RedirectURIs = []string{"https://app.example.com/cb", "https://app.example.com/cb2"}
		spa.Disabled = false
		sync(app, spa)
		if c := get("app"); !VerifySecret(c, app.Secret) || len(c.RedirectURIs) != 2 {
			t.Errorf("updated client %+v", c)
		}
		if get("spa").Disabled {
			t.Error("spa still disabled after disabled: false")
		}

		// A client created at run time with an id the file then declares.
		if _, _, err := Create(ctx, db, rec, Spec{ID: "tool", RedirectURIs: []string{"https://tool.example/cb"}, SkipConsent: true}, "cli"); err != nil {
			t.Fatal(err)
		}
		tool := config.Client{ID: "tool", Secret: "tool-secret-from-the-file", RedirectURIs: []string{"https://tool.example/cb"}}
		sync(app, spa, tool)
		if c := get("tool"); c.SkipConsent || !VerifySecret(c, tool.Secret) || c.Source != store.ClientFromConfig {
			t.Errorf("taken-over client %+v", c)
		}

		wantLog := []string{
			`client.create activated config {"client_id":"app","public":false}`,
			`client.create disabled config {"client_id":"spa","public":true}`,
			`client.update activated config {"changed":["secret","redirect_uris"],"client_id":"app"}`,
			`client.update activated config {"changed":["disabled"],"client_id":"spa"}`,
			`client.create activated cli {"client_id":"tool","public":false}`,
			`client.update activated config {"changed":["secret","skip_consent","source"],"client_id":"tool"}`,
		}
		if diff := cmp.Diff(wantLog, auditLog(t, db)); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})
}

// A client the file owned is disabled when it leaves the file, once, with
// the reason in its event, and enabled when it comes back; clients
// registered at run time stay as they are, whatever the file says.
func TestSyncConfigDisablesRemovedClients(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		rec := audit.New(audit.Config{})
		now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		app := config.Client{ID: "app", Secret: "app-secret-from-the-file", RedirectURIs: []string{"https://app.example.com/cb"}}
		old := config.Client{ID: "old", Secret: "old-secret-from-the-file", RedirectURIs: []string{"https://old.example.com/cb"}}
		off := config.Client{ID: "off", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, Disabled: true}
		sync := func(declared ...config.Client) {
			t.Helper()
			if err := SyncConfig(ctx, db, rec, declared, now); err != nil {
				t.Fatal(err)
			}
		}
		disabled := func() map[string]bool {
			t.Helper()
			cs, err := db.ListClients(ctx)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]bool{}
			for _, c := range cs {
				out[c.ID] = c.Disabled
			}
			return out
		}

		sync(app, old, off)
		for _, id := range []string{"tool", "tool-off"} {
			if _, _, err := Create(ctx, db, rec, Spec{ID: id, RedirectURIs: []string{"https://" + id + ".example/cb"}}, "cli"); err != nil {
				t.Fatal(err)
			}
		}
		if err := Disable(ctx, db, rec, "tool-off", "cli"); err != nil {
			t.Fatal(err)
		}
		if c, err := db.GetClient(ctx, "tool"); err != nil || c.Source != store.ClientFromRuntime {
			t.Fatalf("a client registered at run time: %+v, %v; want source runtime", c, err)
		}

		// old and off leave the file; off was disabled already.
		sync(app)
		want := map[string]bool{"app": false, "old": true, "off": true, "tool": false, "tool-off": true}
		if diff := cmp.Diff(want, disabled()); diff != "" {
			t.Errorf("after old and off left the file, disabled (-want +got):\n%s", diff)
		}
		if c, err := db.GetClient(ctx, "old"); err != nil || c.Source != store.ClientFromConfig {
			t.Errorf("the removed client: %+v, %v; want it kept as the file's", c, err)
		}
		// Nothing left to do: no write, no event.
		n := len(auditLog(t, db))
		sync(app)
		if got := len(auditLog(t, db)); got != n {
			t.Errorf("a second sync without old recorded %d events", got-n)
		}

		// An empty file disables every client it owned, and only those.
		sync()
		want["app"] = true
		if diff := cmp.Diff(want, disabled()); diff != "" {
			t.Errorf("after an empty file, disabled (-want +got):\n%s", diff)
		}

		// Back in the file: enabled (off as the file says: disabled).
		sync(app, old, off)
		want["app"], want["old"] = false, false
		if diff := cmp.Diff(want, disabled()); diff != "" {
			t.Errorf("after app, old and off came back, disabled (-want +got):\n%s", diff)
		}
		if c, err := db.GetClient(ctx, "old"); err != nil || !VerifySecret(c, old.Secret) {
			t.Errorf("the client back in the file: %+v, %v; want it usable with the file's secret", c, err)
		}

		wantLog := []string{
			`client.create activated config {"client_id":"app","public":false}`,
			`client.create activated config {"client_id":"old","public":false}`,
			`client.create disabled config {"client_id":"off","public":true}`,
			`client.create activated cli {"client_id":"tool","public":false}`,
			`client.create activated cli {"client_id":"tool-off","public":false}`,
			`client.disable disabled cli {"client_id":"tool-off"}`,
			`client.disable disabled config {"client_id":"old","reason":"no longer in the configuration file"}`,
			`client.disable disabled config {"client_id":"app","reason":"no longer in the configuration file"}`,
			`client.update activated config {"changed":["disabled"],"client_id":"app"}`,
			`client.update activated config {"changed":["disabled"],"client_id":"old"}`,
		}
		if diff := cmp.Diff(wantLog, auditLog(t, db)); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})
}

// A database from before clients had a source holds the file's clients as
// runtime ones: the next start takes them over, recording only that, and
// from then on removing them from the file disables them.
func TestSyncConfigTakesOverUnmarkedClients(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		rec := audit.New(audit.Config{})
		now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		app := config.Client{ID: "app", Secret: "app-secret-from-the-file", RedirectURIs: []string{"https://app.example.com/cb"}}
		if err := SyncConfig(ctx, db, rec, []config.Client{app}, now); err != nil {
			t.Fatal(err)
		}
		// What migration 00002 leaves: the same row, marked runtime.
		c, err := db.GetClient(ctx, "app")
		if err != nil {
			t.Fatal(err)
		}
		c.Source = store.ClientFromRuntime
		if err := db.UpdateClient(ctx, &c); err != nil {
			t.Fatal(err)
		}
		for _, declared := range [][]config.Client{{app}, {app}, nil} {
			if err := SyncConfig(ctx, db, rec, declared, now); err != nil {
				t.Fatal(err)
			}
		}
		wantLog := []string{
			`client.create activated config {"client_id":"app","public":false}`,
			`client.update activated config {"changed":["source"],"client_id":"app"}`,
			`client.disable disabled config {"client_id":"app","reason":"no longer in the configuration file"}`,
		}
		if diff := cmp.Diff(wantLog, auditLog(t, db)); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})
}

// One failing client rolls back the whole sync, events included.
func TestSyncConfigIsOneTransaction(t *testing.T) {
	db := openStore(t, "sqlite:"+t.TempDir()+"/s.db")
	ctx := context.Background()
	good := config.Client{ID: "good", Secret: "x", RedirectURIs: []string{"https://good.example/cb"}}
	// The file's validation refuses this format, so only a Go caller could
	// send it; the schema refuses it too, after "good" was written.
	bad := config.Client{ID: "bad", Secret: "y", RedirectURIs: []string{"https://bad.example/cb"}, AccessTokenFormat: "paseto"}
	if err := SyncConfig(ctx, db, audit.New(audit.Config{}), []config.Client{good, bad}, time.Now()); err == nil {
		t.Fatal("a sync the store refuses succeeded")
	}
	if cs, _ := db.ListClients(ctx); len(cs) != 0 {
		t.Errorf("%d clients left by a failed sync", len(cs))
	}
	if log := auditLog(t, db); len(log) != 0 {
		t.Errorf("events left by a failed sync: %v", log)
	}

	// Disabling what left the file is part of the same transaction.
	if err := SyncConfig(ctx, db, audit.New(audit.Config{}), []config.Client{good}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := SyncConfig(ctx, db, audit.New(audit.Config{}), []config.Client{bad}, time.Now()); err == nil {
		t.Fatal("a sync the store refuses succeeded")
	}
	if c, err := db.GetClient(ctx, "good"); err != nil || c.Disabled {
		t.Errorf("a failed sync disabled the client that left the file: %+v, %v", c, err)
	}
	if log := auditLog(t, db); len(log) != 1 {
		t.Errorf("events after a failed sync: %v; want only good's creation", log)
	}
}
