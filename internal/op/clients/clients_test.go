package clients

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
)

var ignoreTimes = cmpopts.IgnoreFields(store.Client{}, "CreatedAt", "UpdatedAt")

// A confidential client gets the file's defaults and a generated secret
// that exists only in Create's answer: the store holds its hash, the audit
// event neither.
func TestCreate(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		rec := audit.New(audit.Config{})
		c, secret, err := Create(ctx, db, rec, Spec{ID: "app", Name: "App", RedirectURIs: []string{"https://app.example.com/cb"}}, "cli")
		if err != nil {
			t.Fatal(err)
		}
		want := store.Client{
			ID: "app", Name: "App", SecretHash: hashSecret(secret), RedirectURIs: []string{"https://app.example.com/cb"},
			IDTokenSigningAlg: "RS256", AccessTokenFormat: "opaque", AccessTokenTTL: 10 * time.Minute, RefreshTokenTTL: 720 * time.Hour,
			Source: store.ClientFromRuntime,
		}
		if diff := cmp.Diff(want, c, ignoreTimes, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("returned client (-want +got):\n%s", diff)
		}
		stored, err := db.GetClient(ctx, "app")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, stored, ignoreTimes, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("stored client (-want +got):\n%s", diff)
		}
		if !VerifySecret(stored, secret) {
			t.Error("the returned secret does not verify against the stored client")
		}
		wantLog := []string{`client.create activated cli {"client_id":"app","public":false}`}
		if diff := cmp.Diff(wantLog, auditLog(t, db)); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}

		pub, secret, err := Create(ctx, db, rec, Spec{ID: "spa", Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, IDTokenSigningAlg: "ES256"}, "cli")
		if err != nil {
			t.Fatal(err)
		}
		if secret != "" || pub.SecretHash != nil || !pub.Public || pub.IDTokenSigningAlg != "ES256" {
			t.Errorf("public client %+v with secret %q", pub, secret)
		}
	})
}

// A spec is held to the configuration file's rules, and the refusal names
// the setting at fault; nothing is written.
func TestCreateRefusesInvalidSpec(t *testing.T) {
	db := openStore(t, "sqlite:"+t.TempDir()+"/s.db")
	ok := Spec{ID: "app", RedirectURIs: []string{"https://app.example.com/cb"}}
	tests := []struct {
		name  string
		edit  func(*Spec)
		field string
	}{
		{"no id", func(s *Spec) { s.ID = "" }, "id"},
		{"space in id", func(s *Spec) { s.ID = "my app" }, "id"},
		{"no redirect uri", func(s *Spec) { s.RedirectURIs = nil }, "redirect_uris"},
		{"http redirect", func(s *Spec) { s.RedirectURIs = []string{"http://app.example.com/cb"} }, "redirect_uris[0]"},
		{"fragment", func(s *Spec) { s.RedirectURIs = []string{"https://app.example.com/cb#x"} }, "redirect_uris[0]"},
		{"wildcard", func(s *Spec) { s.RedirectURIs = []string{"https://*.example.com/cb"} }, "redirect_uris[0]"},
		{"userinfo", func(s *Spec) { s.RedirectURIs = []string{"https://u@app.example.com/cb"} }, "redirect_uris[0]"},
		{"repeated", func(s *Spec) { s.RedirectURIs = []string{"https://a.example/cb", "https://a.example/cb"} }, "redirect_uris[1]"},
		{"custom scheme, confidential", func(s *Spec) { s.RedirectURIs = []string{"com.example.app:/cb"} }, "redirect_uris[0]"},
		{"javascript, public", func(s *Spec) { s.Public = true; s.RedirectURIs = []string{"javascript:alert(1)"} }, "redirect_uris[0]"},
		{"post-logout http", func(s *Spec) { s.PostLogoutRedirectURIs = []string{"http://app.example.com/"} }, "post_logout_redirect_uris[0]"},
		{"connection slug", func(s *Spec) { s.AllowedConnections = []string{"Not A Slug"} }, "allowed_connections[0]"},
		{"alg none", func(s *Spec) { s.IDTokenSigningAlg = "none" }, "id_token_signing_alg"},
		{"alg case", func(s *Spec) { s.IDTokenSigningAlg = "rs256" }, "id_token_signing_alg"},
		{"token format", func(s *Spec) { s.AccessTokenFormat = "paseto" }, "access_token_format"},
		{"negative ttl", func(s *Spec) { s.RefreshTokenTTL = -time.Hour }, "refresh_token_ttl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			_, _, err := Create(context.Background(), db, audit.New(audit.Config{}), s, "cli")
			var ps config.Problems
			if !errors.As(err, &ps) || outcome.CodeOf(err) != outcome.InvalidRequest {
				t.Fatalf("err = %v, want an invalid_request outcome with problems", err)
			}
			if len(ps) != 1 || ps[0].Field != tt.field {
				t.Errorf("problems %v, want one about %s", ps, tt.field)
			}
			if diff := cmp.Diff(ps, s.Validate()); diff != "" {
				t.Errorf("Validate disagrees with Create (-create +validate):\n%s", diff)
			}
		})
	}
	if cs, _ := List(context.Background(), db); len(cs) != 0 {
		t.Errorf("invalid specs stored %d clients", len(cs))
	}
	if log := auditLog(t, db); len(log) != 0 {
		t.Errorf("invalid specs were audited: %v", log)
	}
}

func TestCreateRefusesTakenID(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		rec := audit.New(audit.Config{})
		s := Spec{ID: "app", RedirectURIs: []string{"https://app.example.com/cb"}}
		if _, _, err := Create(ctx, db, rec, s, "cli"); err != nil {
			t.Fatal(err)
		}
		_, secret, err := Create(ctx, db, rec, s, "cli")
		if outcome.CodeOf(err) != outcome.Conflict || !errors.Is(err, store.ErrConflict) || secret != "" {
			t.Fatalf("second create: %q, %v; want a conflict", secret, err)
		}
		if n := len(auditLog(t, db)); n != 1 {
			t.Errorf("%d audit events, want the first create only", n)
		}
	})
}

// Rotate, disable, enable, delete: each audited once with its actor, the
// old secret dead after rotation, nothing recorded for a no-op.
func TestLifecycle(t *testing.T) {
	dialects(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		rec := audit.New(audit.Config{})
		_, old, err := Create(ctx, db, rec, Spec{ID: "app", RedirectURIs: []string{"https://app.example.com/cb"}}, "cli")
		if err != nil {
			t.Fatal(err)
		}
		get := func() store.Client {
			t.Helper()
			c, err := db.GetClient(ctx, "app")
			if err != nil {
				t.Fatal(err)
			}
			return c
		}

		fresh, err := RotateSecret(ctx, db, rec, "app", "cli")
		if err != nil {
			t.Fatal(err)
		}
		if c := get(); VerifySecret(c, old) || !VerifySecret(c, fresh) || fresh == old {
			t.Error("after rotation the old secret still verifies, or the new one does not")
		}

		if err := Disable(ctx, db, rec, "app", "cli"); err != nil {
			t.Fatal(err)
		}
		if err := Disable(ctx, db, rec, "app", "cli"); err != nil {
			t.Fatal(err)
		}
		if c := get(); !c.Disabled || VerifySecret(c, fresh) {
			t.Errorf("disabled client: Disabled=%v, secret verifies=%v", c.Disabled, VerifySecret(c, fresh))
		}
		if err := Enable(ctx, db, rec, "app", "cli"); err != nil {
			t.Fatal(err)
		}
		if c := get(); c.Disabled || !VerifySecret(c, fresh) {
			t.Error("enable did not give the client back")
		}
		if err := Delete(ctx, db, rec, "app", "cli"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetClient(ctx, "app"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}

		want := []string{
			`client.create activated cli {"client_id":"app","public":false}`,
			`client.rotate_secret activated cli {"client_id":"app"}`,
			`client.disable disabled cli {"client_id":"app"}`,
			`client.enable activated cli {"client_id":"app"}`,
			`client.delete disabled cli {"client_id":"app"}`,
		}
		if diff := cmp.Diff(want, auditLog(t, db)); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}

		// A missing client is a not_found outcome for every verb.
		for name, err := range map[string]error{
			"rotate":  func() error { _, err := RotateSecret(ctx, db, rec, "app", "cli"); return err }(),
			"disable": Disable(ctx, db, rec, "app", "cli"),
			"enable":  Enable(ctx, db, rec, "app", "cli"),
			"delete":  Delete(ctx, db, rec, "app", "cli"),
		} {
			if outcome.CodeOf(err) != outcome.NotFound {
				t.Errorf("%s of a missing client: %v, want not_found", name, err)
			}
		}
	})
}

func TestRotateSecretRefusesPublicClient(t *testing.T) {
	db := openStore(t, "sqlite:"+t.TempDir()+"/s.db")
	ctx := context.Background()
	rec := audit.New(audit.Config{})
	if _, _, err := Create(ctx, db, rec, Spec{ID: "spa", Public: true, RedirectURIs: []string{"https://spa.example/cb"}}, "cli"); err != nil {
		t.Fatal(err)
	}
	secret, err := RotateSecret(ctx, db, rec, "spa", "cli")
	if outcome.CodeOf(err) != outcome.InvalidRequest || secret != "" {
		t.Fatalf("rotate of a public client: %q, %v", secret, err)
	}
	if c, _ := db.GetClient(ctx, "spa"); c.SecretHash != nil || !c.Public {
		t.Errorf("public client changed: %+v", c)
	}
}
