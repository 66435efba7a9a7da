// Package storetest is the conformance suite for [store.Store]: the contract
// every storage backend meets. A backend's test calls [Run] with a function
// that opens a fresh, migrated, empty store; the suite then checks record
// round trips, uniqueness and reference rules, one-time consumption under
// concurrency, expiry, cascades and transactions through the interface alone.
//
// The suite never sleeps and never reads the wall clock for a decision: every
// method that takes "now" is given a fixed instant ([Now]) or an offset from
// it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sallyport/sallyport/internal/store"
)

// Now is the suite's fixed clock: every "now" argument is Now or an offset
// from it.
var Now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// Run runs the whole suite. open must return a fresh, migrated, empty store
// for each call and arrange (with t.Cleanup) for it to be closed and thrown
// away; subtests run in parallel, each on its own store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"Accounts", accountTests},
		{"Connections", connectionTests},
		{"Flows", flowTests},
		{"Sessions", sessionTests},
		{"OAuth", oauthTests},
		{"Keys", keyTests},
		{"Audit", auditTests},
		{"Times", timeTests},
		{"Races", raceTests},
		{"Expiry", expiryTests},
		{"Cascades", cascadeTests},
		{"Tx", txTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, open(t))
				})
			}
		})
	}
}

// subtest is one conformance check on a fresh store.
type subtest struct {
	name string
	run  func(t *testing.T, s store.Store)
}

var ctx = context.Background()

// cmpOpts compares records the way the contract promises them: times are
// equal instants AND in UTC (the contract stores UTC, so a record read back
// in another zone is a bug even when the instant matches); nil and empty
// slices are the same (the contract makes no promise between them).
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b time.Time) bool {
		return a.Equal(b) && a.Location() == time.UTC && b.Location() == time.UTC
	}),
	cmpopts.EquateEmpty(),
}

// diff reports a mismatch between want and got.
func diff(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, append(cmp.Options{cmpOpts}, opts...)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// sortOrgs etc. make list comparisons independent of an order the contract
// does not promise.
var (
	sortOrgs        = cmpopts.SortSlices(func(a, b store.Org) bool { return a.ID < b.ID })
	sortDomains     = cmpopts.SortSlices(func(a, b store.OrgDomain) bool { return a.OrgID+a.Domain < b.OrgID+b.Domain })
	sortMembers     = cmpopts.SortSlices(func(a, b store.Membership) bool { return a.OrgID+a.UserID < b.OrgID+b.UserID })
	sortConnections = cmpopts.SortSlices(func(a, b store.Connection) bool { return a.ID < b.ID })
	sortIdentities  = cmpopts.SortSlices(func(a, b store.Identity) bool { return a.ID < b.ID })
	sortAssignments = cmpopts.SortSlices(func(a, b store.Assignment) bool { return a.ConnectionID < b.ConnectionID })
	sortClients     = cmpopts.SortSlices(func(a, b store.Client) bool { return a.ID < b.ID })
	sortKeys        = cmpopts.SortSlices(func(a, b store.SigningKey) bool { return a.KID < b.KID })
)

// ok fails the test now when err is not nil.
func ok(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// wantErr reports an error unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error, what string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", fmt.Sprintf(what, args...), err, target)
	}
}

// wantNotFound and wantConflict are the two sentinels most checks expect.
func wantNotFound(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	wantErr(t, err, store.ErrNotFound, what, args...)
}

func wantConflict(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	wantErr(t, err, store.ErrConflict, what, args...)
}

// at returns Now plus d: a whole-millisecond UTC instant that the store
// must give back unchanged.
func at(d time.Duration) time.Time { return Now.Add(d) }

// checkStamp checks a store-set timestamp (CreatedAt/UpdatedAt of records the
// store stamps): set, UTC, and millisecond precision.
func checkStamp(t *testing.T, what string, ts time.Time) {
	t.Helper()
	switch {
	case ts.IsZero():
		t.Errorf("%s: not set", what)
	case ts.Location() != time.UTC:
		t.Errorf("%s = %v: not UTC", what, ts)
	case !ts.Equal(ts.Truncate(time.Millisecond)):
		t.Errorf("%s = %v: finer than millisecond precision", what, ts)
	}
}

// race runs fn on n goroutines released together, and returns their errors
// in goroutine order.
func race(n int, fn func(i int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// countErrs tallies race results: how many were nil, how many matched want,
// and the unexpected ones.
func countErrs(errs []error, want error) (nils, matched int, other []error) {
	for _, err := range errs {
		switch {
		case err == nil:
			nils++
		case errors.Is(err, want):
			matched++
		default:
			other = append(other, err)
		}
	}
	return nils, matched, other
}

// Fixtures. Each creates a valid record with the given distinguishing
// values, fails the test if the store refuses it, and returns it as stored.

func mkOrg(t *testing.T, q store.Queries, slug string) store.Org {
	t.Helper()
	o := store.Org{Slug: slug, Name: "Org " + slug, ProviderAssignment: store.AssignmentOpen}
	ok(t, q.CreateOrg(ctx, &o), "CreateOrg(%s)", slug)
	return o
}

func mkUser(t *testing.T, q store.Queries, email string) store.User {
	t.Helper()
	u := store.User{Email: email, EmailVerified: email != "", Name: "User " + email, Status: store.UserActive}
	ok(t, q.CreateUser(ctx, &u), "CreateUser(%q)", email)
	return u
}

func mkDomain(t *testing.T, q store.Queries, orgID, domain string, verified bool) store.OrgDomain {
	t.Helper()
	d := store.OrgDomain{OrgID: orgID, Domain: domain, Verified: verified, CreatedAt: at(0)}
	ok(t, q.AddOrgDomain(ctx, &d), "AddOrgDomain(%s)", domain)
	return d
}

func mkMembership(t *testing.T, q store.Queries, orgID, userID string) store.Membership {
	t.Helper()
	m := store.Membership{OrgID: orgID, UserID: userID, Role: "member", CreatedVia: store.ViaAdmin, CreatedAt: at(0)}
	ok(t, q.PutMembership(ctx, &m), "PutMembership")
	return m
}

func mkInvitation(t *testing.T, q store.Queries, orgID, email string, expires time.Time) store.Invitation {
	t.Helper()
	inv := store.Invitation{
		OrgID: orgID, Email: email, Role: "member",
		TokenHash: store.HashToken("invitation " + orgID + email + expires.String()),
		ExpiresAt: expires, CreatedAt: at(-time.Hour),
	}
	ok(t, q.CreateInvitation(ctx, &inv), "CreateInvitation(%s)", email)
	return inv
}

func mkConn(t *testing.T, q store.Queries, slug, orgID string) store.Connection {
	t.Helper()
	c := store.Connection{
		Slug: slug, OrgID: orgID, Kind: "oidc", DisplayName: "Conn " + slug,
		Status: store.ConnectionActive, Settings: []byte(`{"issuer":"https://idp.example"}`),
		AutoProvision: true,
	}
	ok(t, q.CreateConnection(ctx, &c), "CreateConnection(%s)", slug)
	return c
}

func mkIdentity(t *testing.T, q store.Queries, userID, connID, subject string) store.Identity {
	t.Helper()
	i := store.Identity{
		UserID: userID, ConnectionID: connID, Subject: subject,
		Email: subject + "@idp.example", EmailVerified: true,
		Claims: []byte(`{"sub":"` + subject + `"}`), LinkedAt: at(-time.Hour),
	}
	ok(t, q.CreateIdentity(ctx, &i), "CreateIdentity(%s)", subject)
	return i
}

func mkClient(t *testing.T, q store.Queries, id string) store.Client {
	t.Helper()
	c := store.Client{
		ID: id, Name: "App " + id, SecretHash: store.HashToken("secret " + id),
		RedirectURIs: []string{"https://" + id + ".example/callback"}, IDTokenSigningAlg: "RS256",
		AccessTokenFormat: "opaque", AccessTokenTTL: 10 * time.Minute, RefreshTokenTTL: 720 * time.Hour,
	}
	ok(t, q.CreateClient(ctx, &c), "CreateClient(%s)", id)
	return c
}

func mkSession(t *testing.T, q store.Queries, name, userID, identityID string) store.Session {
	t.Helper()
	s := store.Session{
		IDHash: store.HashToken("session " + name), UserID: userID, IdentityID: identityID,
		AMR: []string{"fed"}, CreatedAt: at(-time.Hour), LastSeenAt: at(-time.Minute),
		IdleExpiresAt: at(12 * time.Hour), AbsoluteExpiresAt: at(168 * time.Hour),
	}
	ok(t, q.CreateSession(ctx, &s), "CreateSession(%s)", name)
	return s
}

func mkFlow(t *testing.T, q store.Queries, name, connID string, expires time.Time) store.LoginFlow {
	t.Helper()
	f := store.LoginFlow{
		IDHash: store.HashToken("flow " + name), ConnectionID: connID, Intent: store.IntentLogin,
		Nonce: "nonce-" + name, BrowserBindingHash: store.HashToken("browser " + name),
		CreatedAt: expires.Add(-10 * time.Minute), ExpiresAt: expires,
	}
	ok(t, q.CreateLoginFlow(ctx, &f), "CreateLoginFlow(%s)", name)
	return f
}

func mkAuthzRequest(t *testing.T, q store.Queries, id, clientID string, expires time.Time) store.AuthzRequest {
	t.Helper()
	r := store.AuthzRequest{
		ID: id, ClientID: clientID, Params: []byte(`{"scope":"openid"}`),
		CreatedAt: expires.Add(-10 * time.Minute), ExpiresAt: expires,
	}
	ok(t, q.CreateAuthzRequest(ctx, &r), "CreateAuthzRequest(%s)", id)
	return r
}

// grant is a grant for (client, user) with every optional reference empty
// unless set afterwards.
func grant(id, clientID, userID string) store.Grant {
	return store.Grant{
		GrantID: id, ClientID: clientID, UserID: userID,
		Scopes: []string{"openid", "email"}, AuthTime: at(-time.Minute), AMR: []string{"fed"},
	}
}

func mkCode(t *testing.T, q store.Queries, name string, g store.Grant, expires time.Time) store.AuthCode {
	t.Helper()
	c := store.AuthCode{
		CodeHash: store.HashToken("code " + name), Grant: g,
		RedirectURI: "https://app.example/callback", CodeChallenge: "challenge-" + name, CodeChallengeMethod: "S256",
		CreatedAt: expires.Add(-time.Minute), ExpiresAt: expires,
	}
	ok(t, q.CreateAuthCode(ctx, &c), "CreateAuthCode(%s)", name)
	return c
}

func mkAccess(t *testing.T, q store.Queries, name string, g store.Grant, expires time.Time) store.AccessToken {
	t.Helper()
	a := store.AccessToken{TokenHash: store.HashToken("access " + name), Grant: g, CreatedAt: expires.Add(-10 * time.Minute), ExpiresAt: expires}
	ok(t, q.CreateAccessToken(ctx, &a), "CreateAccessToken(%s)", name)
	return a
}

func mkRefresh(t *testing.T, q store.Queries, name string, g store.Grant, expires time.Time) store.RefreshToken {
	t.Helper()
	r := store.RefreshToken{TokenHash: store.HashToken("refresh " + name), Grant: g, CreatedAt: at(-time.Hour), ExpiresAt: expires}
	ok(t, q.CreateRefreshToken(ctx, &r), "CreateRefreshToken(%s)", name)
	return r
}

func mkConsent(t *testing.T, q store.Queries, userID, clientID string) store.Consent {
	t.Helper()
	c := store.Consent{UserID: userID, ClientID: clientID, Scopes: []string{"openid"}, GrantedAt: at(-time.Hour)}
	ok(t, q.PutConsent(ctx, &c), "PutConsent")
	return c
}

func mkAssignment(t *testing.T, q store.Queries, userID, connID string) store.Assignment {
	t.Helper()
	a := store.Assignment{UserID: userID, ConnectionID: connID, AssignedBy: "admin", CreatedAt: at(-time.Hour)}
	ok(t, q.PutAssignment(ctx, &a), "PutAssignment")
	return a
}

// errorsIsAny reports whether err matches any of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
