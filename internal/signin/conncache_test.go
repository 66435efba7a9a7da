package signin

import (
	"context"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/flow"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/session"
	"github.com/sallyport/sallyport/internal/store"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// A connection changed in the store by another replica (here: by the
// store directly, behind the service's back) is seen as changed once
// ConnectionsTTL has passed, and not before: turned off, it is refused;
// added, it is offered; gone, it is not found.
func TestConnectionsTrustedForTTL(t *testing.T) {
	ctx := context.Background()
	db, keys := openStore(t)
	clock := &testClock{t: time.Now()}
	issuer, _ := url.Parse("https://sso.example.test")
	svc, err := New(Config{
		Store: db, Keys: keys, Issuer: issuer, Audit: audit.New(audit.Config{}),
		Flows:    flow.New(flow.Config{Store: db, Keys: keys}),
		Sessions: session.New(session.Config{Store: db}),
		Kinds:    map[string]NewProvider{"oidc": nil}, // offered, never built here
		Now:      clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
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
	clock.advance(ConnectionsTTL - time.Millisecond)
	if err := active("corp"); err != nil {
		t.Errorf("connection(corp) within the TTL of the read = %v; the read is still trusted", err)
	}
	if slugs, err := svc.ConnectionSlugs(ctx); err != nil || !slices.Equal(slugs, []string{"corp"}) {
		t.Errorf("ConnectionSlugs within the TTL = %v, %v; want [corp] as read", slugs, err)
	}

	clock.advance(time.Millisecond)
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
	clock.advance(ConnectionsTTL)
	if err := active("social"); err == nil {
		t.Error("connection(social) deleted is still found once the TTL has passed")
	}
}

// A clock that goes back does not stretch the trust in an earlier read.
func TestConnectionsReadAgainWhenClockGoesBack(t *testing.T) {
	ctx := context.Background()
	db, keys := openStore(t)
	clock := &testClock{t: time.Now()}
	issuer, _ := url.Parse("https://sso.example.test")
	svc, err := New(Config{
		Store: db, Keys: keys, Issuer: issuer, Audit: audit.New(audit.Config{}),
		Flows:    flow.New(flow.Config{Store: db, Keys: keys}),
		Sessions: session.New(session.Config{Store: db}),
		Now:      clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if conns, err := svc.globalConnections(ctx); err != nil || len(conns) != 0 {
		t.Fatalf("globalConnections = %v, %v; want none", conns, err)
	}
	c := store.Connection{Slug: "corp", Kind: "oidc", Status: store.ConnectionActive, Settings: []byte(`{}`)}
	if err := db.CreateConnection(ctx, &c); err != nil {
		t.Fatal(err)
	}
	clock.advance(-time.Second)
	if conns, err := svc.globalConnections(ctx); err != nil || len(conns) != 1 {
		t.Errorf("globalConnections after the clock went back = %d connections, %v; want the store read again (1)", len(conns), err)
	}
}
