package signin

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream/upstreamtest"
)

// A connection changed in the store by another replica (here: by the
// store directly, behind the service's back) is seen as changed once
// ConnectionsTTL has passed, and not before: turned off, it is refused;
// added, it is offered; gone, it is not found.
func TestConnectionsTrustedForTTL(t *testing.T) {
	ctx := context.Background()
	db, keys := openStore(t)
	clock := upstreamtest.NewClock(time.Now())
	svc := newTestService(t, db, keys, func(c *Config) {
		c.Kinds = map[string]NewProvider{"oidc": nil} // offered, never built here
		c.Now = clock.Now
	})
	corp := store.Connection{Slug: "corp", Kind: "oidc", DisplayName: "Corp", Status: store.ConnectionActive, Settings: []byte(`{}`)}
	if err := db.CreateConnection(ctx, &corp); err != nil {
		t.Fatal(err)
	}
	active := func(slug string) error {
		t.Helper()
		_, err := svc.connection(ctx, slug)
		if err != nil && outcome.CodeOf(err) != outcome.NotFound {
			t.Fatalf("connection(%s): %v; want found or not_found", slug, err)
		}
		return err
	}
	if err := active("corp"); err != nil {
		t.Fatalf("connection(corp) = %v; want it active", err)
	}

	corp.Status = store.ConnectionDisabled
	if err := db.UpdateConnection(ctx, &corp); err != nil {
		t.Fatal(err)
	}
	social := store.Connection{Slug: "social", Kind: "oidc", DisplayName: "Social", Status: store.ConnectionActive, Settings: []byte(`{}`)}
	if err := db.CreateConnection(ctx, &social); err != nil {
		t.Fatal(err)
	}
	clock.Advance(ConnectionsTTL - time.Millisecond)
	if err := active("corp"); err != nil {
		t.Errorf("connection(corp) within the TTL of the read = %v; the read is still trusted", err)
	}
	if slugs, err := svc.ConnectionSlugs(ctx); err != nil || !slices.Equal(slugs, []string{"corp"}) {
		t.Errorf("ConnectionSlugs within the TTL = %v, %v; want [corp] as read", slugs, err)
	}

	clock.Advance(time.Millisecond)
	if err := active("corp"); err == nil {
		t.Error("connection(corp) turned off is still active once the TTL has passed")
	}
	if err := active("social"); err != nil {
		t.Errorf("connection(social) added = %v once the TTL has passed; want it active", err)
	}
	if slugs, err := svc.ConnectionSlugs(ctx); err != nil || !slices.Equal(slugs, []string{"social"}) {
		t.Errorf("ConnectionSlugs after the TTL = %v, %v; want [social]", slugs, err)
	}

	if err := db.DeleteConnection(ctx, social.ID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(ConnectionsTTL)
	if err := active("social"); err == nil {
		t.Error("connection(social) deleted is still found once the TTL has passed")
	}
}

// A clock that goes back does not stretch the trust in an earlier read.
func TestConnectionsReadAgainWhenClockGoesBack(t *testing.T) {
	ctx := context.Background()
	db, keys := openStore(t)
	clock := upstreamtest.NewClock(time.Now())
	svc := newTestService(t, db, keys, func(c *Config) { c.Now = clock.Now })
	if conns, err := svc.globalConnections(ctx); err != nil || len(conns) != 0 {
		t.Fatalf("globalConnections = %v, %v; want none", conns, err)
	}
	c := store.Connection{Slug: "corp", Kind: "oidc", Status: store.ConnectionActive, Settings: []byte(`{}`)}
	if err := db.CreateConnection(ctx, &c); err != nil {
		t.Fatal(err)
	}
	clock.Advance(-time.Second)
	if conns, err := svc.globalConnections(ctx); err != nil || len(conns) != 1 {
		t.Errorf("globalConnections after the clock went back = %d connections, %v; want the store read again (1)", len(conns), err)
	}
}

// An org's connection is never a global one: its slug is not found on the
// global sign-in routes and not offered on /login, active or not.
func TestOrgConnectionNotGlobal(t *testing.T) {
	ctx := context.Background()
	db, keys := openStore(t)
	svc := newTestService(t, db, keys, func(c *Config) { c.Kinds = map[string]NewProvider{"oidc": nil} })
	acme := store.Org{Slug: "acme", Name: "Acme"}
	if err := db.CreateOrg(ctx, &acme); err != nil {
		t.Fatal(err)
	}
	sso := store.Connection{Slug: "acme-sso", OrgID: acme.ID, Kind: "oidc", Status: store.ConnectionActive, Settings: []byte(`{}`)}
	if err := db.CreateConnection(ctx, &sso); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.connection(ctx, "acme-sso"); outcome.CodeOf(err) != outcome.NotFound {
		t.Errorf("connection(acme-sso) = %v; want not_found for an org's connection", err)
	}
	if slugs, err := svc.ConnectionSlugs(ctx); err != nil || len(slugs) != 0 {
		t.Errorf("ConnectionSlugs = %v, %v; want none offered", slugs, err)
	}
}
