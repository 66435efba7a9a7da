package flow

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/secret"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
	"github.com/sallyport/sallyport/internal/upstream"
)

const testIssuer = "https://idp.example"

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// clock is the injected clock: tests move it, never sleep.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type result struct {
	flow Flow
	err  error
}

// harness is Sallyport's two flow endpoints on a real TLS server over a
// real SQLite database: GET /login/{conn} begins, GET /callback/{conn}
// finishes. Handlers park what Begin and Finish returned under the
// request's rid, so tests can inspect the Go errors.
type harness struct {
	t       *testing.T
	dbPath  string
	db      *sqlstore.DB
	keys    *secret.KeyRing
	clock   *clock
	m       *Manager
	ts      *httptest.Server
	conns   map[string]store.Connection
	rid     atomic.Int64
	results sync.Map // rid → result
}

func newHarness(t *testing.T, configure ...func(*Config)) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, dbPath: filepath.Join(t.TempDir(), "sallyport.db"), clock: &clock{t: t0}, conns: map[string]store.Connection{}}
	var err error
	if h.db, err = sqlstore.Open(ctx, sqlstore.Config{URL: "sqlite:" + h.dbPath}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.db.Close() })
	if _, err := h.db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if h.keys, err = secret.NewKeyRing([][]byte{bytes.Repeat([]byte{7}, secret.KeySize)}, nil); err != nil {
		t.Fatal(err)
	}
	for _, slug := range []string{"acme", "corp"} {
		c := store.Connection{Slug: slug, Kind: "oidc", DisplayName: slug, Status: store.ConnectionActive}
		if err := h.db.CreateConnection(ctx, &c); err != nil {
			t.Fatal(err)
		}
		h.conns[slug] = c
	}
	cfg := Config{Store: h.db, Keys: h.keys, Now: h.clock.Now}
	for _, f := range configure {
		f(&cfg)
	}
	h.m = New(cfg)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/{conn}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		req, err := h.m.Begin(r.Context(), w, r, BeginParams{
			Connection:    h.conns[r.PathValue("conn")],
			Issuer:        testIssuer,
			RedirectURI:   "https://sso.example/callback/" + r.PathValue("conn"),
			UsePKCE:       q.Get("pkce") != "0",
			ReturnTo:      q.Get("return_to"),
			LoginHint:     q.Get("login_hint"),
			ProviderState: []byte(q.Get("provider_state")),
		})
		h.results.Store(q.Get("rid"), result{err: err})
		if err != nil {
			http.Error(w, string(outcome.CodeOf(err)), outcome.CodeOf(err).Status())
			return
		}
		json.NewEncoder(w).Encode(req)
	})
	mux.HandleFunc("GET /callback/{conn}", func(w http.ResponseWriter, r *http.Request) {
		f, err := h.m.Finish(r.Context(), r, r.URL.Query(), h.conns[r.PathValue("conn")])
		h.results.Store(r.URL.Query().Get("rid"), result{f, err})
		if err != nil {
			http.Error(w, string(outcome.CodeOf(err)), outcome.CodeOf(err).Status())
		}
	})
	h.ts = httptest.NewTLSServer(mux)
	t.Cleanup(h.ts.Close)
	return h
}

// browser is a client with its own cookie jar: one browser profile.
func (h *harness) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &http.Client{Transport: h.ts.Client().Transport, Jar: jar}
}

func (h *harness) get(c *http.Client, path string, q url.Values) (*http.Response, result) {
	h.t.Helper()
	rid := strconv.FormatInt(h.rid.Add(1), 10)
	q.Set("rid", rid)
	resp, err := c.Get(h.ts.URL + path + "?" + q.Encode())
	if err != nil {
		h.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	v, ok := h.results.Load(rid)
	if !ok {
		h.t.Fatalf("GET %s: the handler recorded nothing", path)
	}
	return resp, v.(result)
}

// begin starts a flow at conn in browser c and returns the upstream request.
func (h *harness) begin(c *http.Client, conn string, q url.Values) (upstream.AuthRequest, *http.Response) {
	h.t.Helper()
	if q == nil {
		q = url.Values{}
	}
	resp, res := h.get(c, "/login/"+conn, q)
	if res.err != nil {
		h.t.Fatalf("Begin: %v", res.err)
	}
	var req upstream.AuthRequest
	if err := json.NewDecoder(resp.Body).Decode(&req); err != nil {
		h.t.Fatal(err)
	}
	return req, resp
}

// finish comes back to /callback/{conn} in browser c with state.
func (h *harness) finish(c *http.Client, conn, state string) (Flow, error) {
	h.t.Helper()
	q := url.Values{"code": {"upstream-code"}}
	if state != "" {
		q.Set("state", state)
	}
	_, res := h.get(c, "/callback/"+conn, q)
	return res.flow, res.err
}

// wantRefused checks err is invalid_state caused by cause.
func wantRefused(t *testing.T, err, cause error) {
	t.Helper()
	if got := outcome.CodeOf(err); got != outcome.InvalidState {
		t.Fatalf("error %v: code %q, want %q", err, got, outcome.InvalidState)
	}
	if !errors.Is(err, cause) {
		t.Fatalf("error %v: want cause %v", err, cause)
	}
}

func TestFinishAccepts(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	req, _ := h.begin(b, "acme", url.Values{"return_to": {"/account?tab=links"}, "login_hint": {"ann@acme.com"}, "provider_state": {"dpop-key"}})

	for name, s := range map[string]string{"state": req.State, "nonce": req.Nonce} {
		if raw, err := base64.RawURLEncoding.DecodeString(s); err != nil || len(raw) != 32 {
			t.Errorf("%s %q: want 32 random bytes, base64url", name, s)
		}
	}
	if req.State == req.Nonce {
		t.Error("state and nonce are equal")
	}

	f, err := h.finish(b, "acme", req.State)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if len(f.PKCEVerifier) != 43 {
		t.Errorf("PKCE verifier %q: %d characters, want 43", f.PKCEVerifier, len(f.PKCEVerifier))
	}
	if got := s256(f.PKCEVerifier); got != req.CodeChallenge {
		t.Errorf("challenge %q is not S256(verifier) = %q", req.CodeChallenge, got)
	}
	want := upstream.AuthRequest{
		State: req.State, Nonce: f.Nonce, CodeChallenge: req.CodeChallenge,
		RedirectURI: "https://sso.example/callback/acme", LoginHint: "ann@acme.com",
	}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("AuthRequest (-want +got):\n%s", diff)
	}
	type summary struct {
		IDHash        []byte
		ConnectionID  string
		Intent        store.FlowIntent
		Issuer        string
		ReturnTo      string
		ProviderState string
		CreatedAt     time.Time
		ExpiresAt     time.Time
		ConsumedAt    time.Time
	}
	got := summary{f.IDHash, f.ConnectionID, f.Intent, f.Issuer, f.ReturnTo, string(f.ProviderState), f.CreatedAt, f.ExpiresAt, f.ConsumedAt}
	wantFlow := summary{store.HashToken(req.State), h.conns["acme"].ID, store.IntentLogin, testIssuer, "/account?tab=links", "dpop-key", t0, t0.Add(DefaultTTL), t0}
	if diff := cmp.Diff(wantFlow, got); diff != "" {
		t.Errorf("Flow (-want +got):\n%s", diff)
	}
	cb := f.Callback(url.Values{"code": {"c"}}, want.RedirectURI)
	if cb.Nonce != req.Nonce || cb.CodeVerifier != f.PKCEVerifier || cb.RedirectURI != want.RedirectURI {
		t.Errorf("Callback = %+v", cb)
	}
}

func TestFinishWithoutPKCE(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	req, _ := h.begin(b, "acme", url.Values{"pkce": {"0"}})
	if req.CodeChallenge != "" {
		t.Errorf("CodeChallenge = %q without PKCE", req.CodeChallenge)
	}
	f, err := h.finish(b, "acme", req.State)
	if err != nil {
		t.Fatal(err)
	}
	if f.PKCEVerifier != "" || f.PKCEVerifierEnc != nil {
		t.Errorf("a verifier was kept without PKCE: %q", f.PKCEVerifier)
	}
}

func TestFinishReplayed(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	req, _ := h.begin(b, "acme", nil)
	if _, err := h.finish(b, "acme", req.State); err != nil {
		t.Fatal(err)
	}
	_, err := h.finish(b, "acme", req.State)
	wantRefused(t, err, ErrUnknownState)
}

func TestFinishExpired(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	late, _ := h.begin(b, "acme", nil)
	h.clock.Advance(DefaultTTL - time.Millisecond)
	justInTime, _ := h.begin(b, "acme", nil)
	if _, err := h.finish(b, "acme", late.State); err != nil {
		t.Fatalf("Finish 1 ms before expiry: %v", err)
	}
	h.clock.Advance(DefaultTTL + time.Millisecond)
	_, err := h.finish(b, "acme", justInTime.State)
	wantRefused(t, err, ErrUnknownState)
}

func TestFinishTTL(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.TTL = time.Minute })
	b := h.browser()
	req, resp := h.begin(b, "acme", nil)
	if got := resp.Cookies()[0].MaxAge; got != 60 {
		t.Errorf("cookie Max-Age = %d, want 60", got)
	}
	h.clock.Advance(time.Minute)
	_, err := h.finish(b, "acme", req.State)
	wantRefused(t, err, ErrUnknownState)
}

func TestFinishMissingState(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	req, _ := h.begin(b, "acme", nil)
	_, err := h.finish(b, "acme", "")
	wantRefused(t, err, ErrMissingState)

	// Two states: refused before anything is consumed.
	_, res := h.get(b, "/callback/acme", url.Values{"state": {req.State, req.State}})
	wantRefused(t, res.err, ErrMissingState)
	if _, err := h.finish(b, "acme", req.State); err != nil {
		t.Fatalf("the flow was spent by a malformed callback: %v", err)
	}
	_, err = h.finish(b, "acme", "never-issued")
	wantRefused(t, err, ErrUnknownState)
}

func TestFinishForeignBrowser(t *testing.T) {
	h := newHarness(t)
	victim, attacker := h.browser(), h.browser()
	h.begin(attacker, "acme", nil) // the attacker has a flow cookie of their own
	req, _ := h.begin(victim, "acme", nil)

	_, err := h.finish(attacker, "acme", req.State)
	wantRefused(t, err, ErrForeignBrowser)
	// The stolen state is burnt: not even its own browser can use it now.
	_, err = h.finish(victim, "acme", req.State)
	wantRefused(t, err, ErrUnknownState)
}

func TestFinishWithoutFlowCookie(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	req, _ := h.begin(b, "acme", nil)
	bare := &http.Client{Transport: h.ts.Client().Transport} // no jar: no cookie
	_, err := h.finish(bare, "acme", req.State)
	wantRefused(t, err, ErrNoBrowserBinding)
	_, err = h.finish(b, "acme", req.State)
	wantRefused(t, err, ErrUnknownState)
}

func TestFinishWrongConnection(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	req, _ := h.begin(b, "acme", nil)
	_, err := h.finish(b, "corp", req.State)
	wantRefused(t, err, ErrWrongConnection)
	_, err = h.finish(b, "acme", req.State)
	wantRefused(t, err, ErrUnknownState)
}

func TestTwoTabs(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	tab1, resp1 := h.begin(b, "acme", url.Values{"return_to": {"/one"}})
	tab2, resp2 := h.begin(b, "corp", url.Values{"return_to": {"/two"}})
	c1, c2 := resp1.Cookies(), resp2.Cookies()
	if len(c1) != 1 || len(c2) != 1 || c1[0].Value != c2[0].Value {
		t.Fatalf("the second tab did not reuse the browser binding: %v, %v", c1, c2)
	}

	var wg sync.WaitGroup
	flows := make([]Flow, 2)
	errs := make([]error, 2)
	for i, tab := range []struct{ conn, state string }{{"acme", tab1.State}, {"corp", tab2.State}} {
		wg.Go(func() { flows[i], errs[i] = h.finish(b, tab.conn, tab.state) })
	}
	wg.Wait()
	for i, want := range []string{"/one", "/two"} {
		if errs[i] != nil {
			t.Fatalf("tab %d: %v", i+1, errs[i])
		}
		if flows[i].ReturnTo != want {
			t.Errorf("tab %d: ReturnTo = %q, want %q", i+1, flows[i].ReturnTo, want)
		}
	}
}

func TestFinishOnceUnderRace(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	req, _ := h.begin(b, "acme", nil)

	const n = 16
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = h.finish(b, "acme", req.State)
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		wantRefused(t, err, ErrUnknownState)
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent callbacks succeeded, want exactly 1", wins, n)
	}
}

// TestSealedAtRest reads the flow's row straight from the SQLite file: the
// state and the browser binding appear only as hashes, the verifier and
// provider state only as ciphertext bound to this flow.
func TestSealedAtRest(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	other, _ := h.begin(b, "acme", nil)
	req, resp := h.begin(b, "acme", url.Values{"provider_state": {"dpop-private-key"}})
	binding := resp.Cookies()[0].Value

	raw, err := sql.Open("sqlite", h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	row := rowBytes(t, raw, `SELECT * FROM login_flows WHERE id_hash = $1`, store.HashToken(req.State))
	var verifierEnc, stateEnc, bindingHash []byte
	if err := raw.QueryRow(`SELECT pkce_verifier_enc, provider_state_enc, browser_binding_hash FROM login_flows WHERE id_hash = $1`,
		store.HashToken(req.State)).Scan(&verifierEnc, &stateEnc, &bindingHash); err != nil {
		t.Fatal(err)
	}

	f, err := h.finish(b, "acme", req.State)
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{req.State, binding, f.PKCEVerifier, "dpop-private-key"} {
		if bytes.Contains(row, []byte(plain)) {
			t.Errorf("the stored row contains %q in plaintext", plain)
		}
	}
	if !bytes.Equal(bindingHash, store.HashToken(binding)) {
		t.Error("browser_binding_hash is not SHA-256 of the cookie value")
	}
	got, err := h.keys.Decrypt(verifierEnc, aad(store.HashToken(req.State), "pkce"))
	if err != nil || string(got) != f.PKCEVerifier {
		t.Errorf("stored verifier opens to %q, %v; want %q", got, err, f.PKCEVerifier)
	}
	// Bound to its flow and column: another flow's or column's aad fails.
	if _, err := h.keys.Decrypt(verifierEnc, aad(store.HashToken(other.State), "pkce")); !errors.Is(err, secret.ErrDecrypt) {
		t.Errorf("verifier opened under another flow's aad: %v", err)
	}
	if _, err := h.keys.Decrypt(stateEnc, aad(store.HashToken(req.State), "pkce")); !errors.Is(err, secret.ErrDecrypt) {
		t.Errorf("provider state opened as a verifier: %v", err)
	}
}

// rowBytes concatenates every column of the row query finds.
func rowBytes(t *testing.T, db *sql.DB, query string, args ...any) []byte {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatalf("%s: no row", query)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			out = append(out, v...)
		default:
			out = fmt.Append(out, v)
		}
		out = append(out, 0)
	}
	return out
}

// TestPKCEVector checks Begin's verifier and challenge against RFC 7636
// Appendix B by feeding the RFC's octets as the verifier's randomness.
func TestPKCEVector(t *testing.T) {
	octets := []byte{116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
		22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121}
	const (
		verifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
		challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	)
	if got := s256(verifier); got != challenge {
		t.Errorf("s256(%q) = %q, want %q", verifier, got, challenge)
	}

	// Begin draws state, nonce, verifier, then the browser binding.
	rnd := append(append(append(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)...), octets...), bytes.Repeat([]byte{3}, 32)...)
	h := newHarness(t, func(c *Config) { c.Rand = bytes.NewReader(rnd) })
	b := h.browser()
	req, _ := h.begin(b, "acme", nil)
	if req.CodeChallenge != challenge {
		t.Errorf("CodeChallenge = %q, want %q", req.CodeChallenge, challenge)
	}
	f, err := h.finish(b, "acme", req.State)
	if err != nil {
		t.Fatal(err)
	}
	if f.PKCEVerifier != verifier {
		t.Errorf("PKCEVerifier = %q, want %q", f.PKCEVerifier, verifier)
	}
}

func TestFlowCookie(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	_, resp := h.begin(b, "acme", nil)
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Set-Cookie: %v, want one cookie", resp.Header["Set-Cookie"])
	}
	c := cookies[0]
	if raw, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil || len(raw) != 32 {
		t.Errorf("cookie value %q: want 32 random bytes, base64url", c.Value)
	}
	type attrs struct {
		Name     string
		Path     string
		Domain   string
		MaxAge   int
		Secure   bool
		HttpOnly bool
		SameSite http.SameSite
	}
	want := attrs{CookieName, "/", "", 600, true, true, http.SameSiteLaxMode}
	if diff := cmp.Diff(want, attrs{c.Name, c.Path, c.Domain, c.MaxAge, c.Secure, c.HttpOnly, c.SameSite}); diff != "" {
		t.Errorf("flow cookie (-want +got):\n%s", diff)
	}

	// A malformed binding is replaced, never adopted.
	for _, bad := range []string{"short", c.Value + "A", c.Value[:42] + "!", base64.RawURLEncoding.EncodeToString(make([]byte, 31))} {
		req, _ := http.NewRequest(http.MethodGet, h.ts.URL+"/login/acme?rid=bad", nil)
		req.AddCookie(&http.Cookie{Name: CookieName, Value: bad})
		resp, err := h.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Cookies(); len(got) != 1 || got[0].Value == bad || len(got[0].Value) != 43 {
			t.Errorf("cookie %q: Set-Cookie %v, want a new binding", bad, resp.Header["Set-Cookie"])
		}
	}
}

func TestBeginRefusesUnsafeReturnTo(t *testing.T) {
	h := newHarness(t)
	resp, res := h.get(h.browser(), "/login/acme", url.Values{"return_to": {"//evil.com"}})
	if outcome.CodeOf(res.err) != outcome.InvalidRequest || !errors.Is(res.err, ErrUnsafeReturnTo) {
		t.Fatalf("Begin: %v, want invalid_request caused by ErrUnsafeReturnTo", res.err)
	}
	if resp.StatusCode != http.StatusBadRequest || len(resp.Cookies()) != 0 {
		t.Errorf("status %d, cookies %v: want 400 and no cookie", resp.StatusCode, resp.Cookies())
	}
	var n int
	raw, err := sql.Open("sqlite", h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow(`SELECT count(*) FROM login_flows`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d flows stored (%v), want none", n, err)
	}
}

func TestBeginNeedsUserForLink(t *testing.T) {
	h := newHarness(t)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/login/acme", nil)
	_, err := h.m.Begin(context.Background(), w, r, BeginParams{Connection: h.conns["acme"], Intent: store.IntentLink})
	if err == nil {
		t.Fatal("Begin(link) without a user succeeded")
	}
}

func TestCheckIssParam(t *testing.T) {
	tests := []struct {
		name       string
		params     url.Values
		advertised bool
		ok         bool
	}{
		{"absent, not advertised", url.Values{}, false, true},
		{"absent, advertised", url.Values{}, true, false},
		{"match", url.Values{"iss": {testIssuer}}, true, true},
		{"match, not advertised", url.Values{"iss": {testIssuer}}, false, true},
		{"other issuer", url.Values{"iss": {"https://evil.example"}}, false, false},
		{"trailing slash", url.Values{"iss": {testIssuer + "/"}}, true, false},
		{"case differs", url.Values{"iss": {"https://IDP.example"}}, true, false},
		{"empty", url.Values{"iss": {""}}, false, false},
		{"repeated", url.Values{"iss": {testIssuer, testIssuer}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckIssParam(tt.params, testIssuer, tt.advertised)
			if tt.ok {
				if err != nil {
					t.Fatalf("CheckIssParam: %v", err)
				}
				return
			}
			wantRefused(t, err, ErrIssuerMismatch)
		})
	}
}
