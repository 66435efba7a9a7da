package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

func TestNewRejectsBadConfig(t *testing.T) {
	good := func() Config {
		return Config{Issuer: mustURL(t, "https://sso.example.com"), Ready: alwaysReady}
	}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no issuer", func(c *Config) { c.Issuer = nil }},
		{"relative issuer", func(c *Config) { c.Issuer = &url.URL{Path: "/sso"} }},
		{"ftp issuer", func(c *Config) { c.Issuer = mustURL(t, "ftp://sso.example.com") }},
		{"no readiness", func(c *Config) { c.Ready = nil }},
		{"negative body limit", func(c *Config) { c.MaxBodyBytes = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.edit(&cfg)
			if _, err := New(cfg); err == nil || !strings.HasPrefix(err.Error(), "web: ") {
				t.Errorf("New = %v, want a web: error", err)
			}
		})
	}
	if _, err := New(good()); err != nil {
		t.Errorf("New(good config) = %v", err)
	}
}

func TestNewSharedRegistryClash(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := Config{Issuer: mustURL(t, "https://sso.example.com"), Ready: alwaysReady, Registry: reg}
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); err == nil {
		t.Error("a second server on the same registry registered its metrics twice without error")
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Ready = readyFunc(func(context.Context) error { return errors.New("database down") })
	})
	resp, body := f.get(t, "/healthz", nil)
	if resp.StatusCode != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\\n\" even with the database down", resp.StatusCode, body)
	}
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name       string
		ready      error
		wantStatus int
		wantBody   string
	}{
		{"ready", nil, http.StatusOK, "ready\n"},
		{"check panics", nil, http.StatusServiceUnavailable, "not ready: dependency unavailable\n"},
		{"database down", errors.New("dial tcp 10.0.0.5:5432: password authentication failed for hunter2"),
			http.StatusServiceUnavailable, "not ready: dependency unavailable\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				c.Ready = readyFunc(func(context.Context) error {
					if tt.name == "check panics" {
						panic("driver bug")
					}
					return tt.ready
				})
			})
			resp, body := f.get(t, "/readyz", nil)
			if resp.StatusCode != tt.wantStatus || body != tt.wantBody {
				t.Errorf("GET /readyz = %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if tt.ready != nil && !strings.Contains(f.logs.String(), "hunter2") {
				t.Error("the readiness error's cause is not in the log")
			}
		})
	}
}

// TestReadyzTimeout runs in a synctest bubble, where the 2 s wait costs no
// real time; it serves in memory because the bubble's clock does not
// govern real sockets.
func TestReadyzTimeout(t *testing.T) {
	tests := []struct {
		name  string
		ready func(release <-chan struct{}) Readiness
	}{
		{"check honours its context", func(<-chan struct{}) Readiness {
			return readyFunc(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		}},
		{"check ignores its context", func(release <-chan struct{}) Readiness {
			return readyFunc(func(context.Context) error { <-release; return nil })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				defer close(release)
				srv, err := New(Config{Issuer: mustURL(t, "http://127.0.0.1"), Ready: tt.ready(release)})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				rec := httptest.NewRecorder()
				srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
				if got := time.Since(start); got != readyTimeout {
					t.Errorf("answered after %v, want %v", got, readyTimeout)
				}
				if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != "not ready: check timed out\n" {
					t.Errorf("GET /readyz = %d %q", rec.Code, rec.Body.String())
				}
			})
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	base := map[string]string{
		"Content-Security-Policy":    contentSecurityPolicy,
		"X-Frame-Options":            "DENY",
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	tests := []struct {
		issuer   string
		wantHSTS string
	}{
		{"http://127.0.0.1:8080", ""},
		{"https://sso.example.com", "max-age=63072000; includeSubDomains"},
	}
	for _, tt := range tests {
		f := newFixture(t, func(c *Config) {
			c.Issuer = mustURL(t, tt.issuer)
			c.Logger = nil
		})
		f.srv.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
		// Success, a page of ours, a refusal by the mux and a panic all
		// carry the headers.
		for _, path := range []string{"/healthz", "/static/style.css", "/no/such/page", "/boom"} {
			t.Run(tt.issuer+path, func(t *testing.T) {
				resp, _ := f.get(t, path, nil)
				for name, want := range base {
					if got := resp.Header.Get(name); got != want {
						t.Errorf("%s = %q, want %q", name, got, want)
					}
				}
				if got := resp.Header.Get("Strict-Transport-Security"); got != tt.wantHSTS {
					t.Errorf("Strict-Transport-Security = %q, want %q", got, tt.wantHSTS)
				}
			})
		}
	}
}

// TestContentSecurityPolicyIsFirstParty checks every source in the policy:
// only keywords and data: images, never a scheme or host of another site.
func TestContentSecurityPolicyIsFirstParty(t *testing.T) {
	allowed := map[string]bool{"'self'": true, "'none'": true, "data:": true}
	directives := strings.Split(contentSecurityPolicy, ";")
	seen := map[string]bool{}
	for _, d := range directives {
		fields := strings.Fields(d)
		if len(fields) < 2 {
			t.Fatalf("directive %q has no source", d)
		}
		seen[fields[0]] = true
		for _, src := range fields[1:] {
			if !allowed[src] || strings.Contains(src, "http") || strings.Contains(src, "*") {
				t.Errorf("directive %s allows %q", fields[0], src)
			}
		}
	}
	for _, want := range []string{"default-src", "frame-ancestors", "base-uri", "form-action"} {
		if !seen[want] {
			t.Errorf("policy lacks %s", want)
		}
	}
}

func TestCrossOriginProtection(t *testing.T) {
	f := newFixture(t, nil)
	handled := 0
	ok := func(w http.ResponseWriter, r *http.Request) { handled++; io.WriteString(w, "done") }
	f.srv.HandleFunc("POST /form", ok)
	f.srv.HandleFunc("POST /callback/apple", ok)
	f.srv.AllowCrossOrigin("POST /callback/apple")

	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		want   int
	}{
		{"cross-site post", "POST", "/form", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"same-site post", "POST", "/form", http.Header{"Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
		{"old browser, foreign origin", "POST", "/form", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"same-origin post", "POST", "/form", http.Header{"Sec-Fetch-Site": {"same-origin"}}, http.StatusOK},
		{"old browser, same origin", "POST", "/form", http.Header{"Origin": {f.http.URL}}, http.StatusOK},
		{"not a browser", "POST", "/form", nil, http.StatusOK},
		{"cross-site get is safe", "GET", "/healthz", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusOK},
		{"bypassed callback", "POST", "/callback/apple", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := handled
			resp, body := f.do(t, tt.method, tt.path, strings.NewReader("a=b"), tt.header)
			if resp.StatusCode != tt.want {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusForbidden {
				if handled != before {
					t.Error("the handler ran for a refused request")
				}
				if !strings.Contains(body, "<code>invalid_request</code>") || !strings.Contains(body, "another site") {
					t.Errorf("refusal page is not the outcome page:\n%s", body)
				}
			}
		})
	}

	t.Run("json refusal", func(t *testing.T) {
		resp, body := f.do(t, "POST", "/form", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Accept": {"application/json"}})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"error":"invalid_request"`) {
			t.Errorf("got %d %s", resp.StatusCode, body)
		}
	})
	t.Run("refusal counted against its route", func(t *testing.T) {
		want := `sallyport_http_requests_total{method="POST",route="POST /form",status="403"}`
		if m := f.metrics(t); !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	})
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxBodyBytes = 16 })
	calls := 0
	f.srv.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		calls++
		b, err := io.ReadAll(r.Body)
		if err != nil {
			f.srv.WriteError(w, r, err)
			return
		}
		w.Write(b)
	})
	// chunked hides the length, so only the reader's cap can catch it.
	chunked := func(s string) io.Reader { return io.MultiReader(strings.NewReader(s)) }
	tests := []struct {
		name      string
		body      io.Reader
		want      int
		wantCalls int
	}{
		{"small", strings.NewReader("0123456789abcdef"), http.StatusOK, 1},
		{"declared too large", strings.NewReader("0123456789abcdefX"), http.StatusRequestEntityTooLarge, 0},
		{"chunked small", chunked("hello"), http.StatusOK, 1},
		{"chunked too large", chunked(strings.Repeat("x", 100)), http.StatusRequestEntityTooLarge, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls = 0
			resp, body := f.do(t, "POST", "/echo", tt.body, http.Header{"Accept": {"application/json"}})
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tt.want, body)
			}
			if calls != tt.wantCalls {
				t.Errorf("handler ran %d times, want %d", calls, tt.wantCalls)
			}
			if tt.want == http.StatusRequestEntityTooLarge && !strings.Contains(body, `"error":"invalid_request"`) {
				t.Errorf("413 body = %s", body)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.HandleFunc("GET /id", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, RequestID(r.Context()))
	})
	long := strings.Repeat("a", 64)
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"none", "", false},
		{"sane", "lb-7f3a.9_Z", true},
		{"64 characters", long, true},
		{"65 characters", long + "a", false},
		{"space", "a b", false},
		{"markup", "<script>", false},
		{"log injection", `x","level":"ERROR`, false},
		{"non-ascii", "idé", false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.in != "" {
				h.Set("X-Request-Id", tt.in)
			}
			resp, body := f.get(t, "/id", h)
			got := resp.Header.Get("X-Request-Id")
			if body != got {
				t.Errorf("context id %q differs from header %q", body, got)
			}
			if tt.keep {
				if got != tt.in {
					t.Errorf("id = %q, want the incoming %q", got, tt.in)
				}
				return
			}
			if len(got) != 32 || strings.Trim(got, "0123456789abcdef") != "" {
				t.Errorf("generated id %q is not 16 random bytes in hex", got)
			}
			if seen[got] {
				t.Errorf("id %q generated twice", got)
			}
			seen[got] = true
		})
	}
	if RequestID(context.Background()) != "" {
		t.Error("RequestID outside a request is not empty")
	}
}

func TestRequestIDFromInjectedRand(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Rand = bytes.NewReader(bytes.Repeat([]byte{0xab}, 16)) })
	resp, _ := f.get(t, "/healthz", nil)
	if got, want := resp.Header.Get("X-Request-Id"), strings.Repeat("ab", 16); got != want {
		t.Errorf("id = %q, want %q", got, want)
	}
	// The reader is now exhausted: without randomness the request is refused.
	resp, body := f.get(t, "/healthz", nil)
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "EOF") {
		t.Errorf("with no randomness: %d %q", resp.StatusCode, body)
	}
}

func TestPanicRecovery(t *testing.T) {
	const secret = "secret-panic-text-42"
	f := newFixture(t, nil)
	f.srv.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic(secret) })
	f.srv.HandleFunc("GET /api/boom", func(http.ResponseWriter, *http.Request) { panic(errors.New(secret)) })
	f.srv.HandleFunc("GET /late-boom", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "partial")
		http.NewResponseController(w).Flush()
		panic(secret)
	})

	for _, path := range []string{"/boom", "/api/boom"} {
		t.Run(path, func(t *testing.T) {
			resp, body := f.get(t, path, http.Header{"X-Request-Id": {"panic-" + path[1:4]}})
			if resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", resp.StatusCode)
			}
			if strings.Contains(body, secret) || strings.Contains(body, "goroutine") {
				t.Errorf("the body leaks the panic:\n%s", body)
			}
			if !strings.Contains(body, "Something went wrong on our side") || !strings.Contains(body, "panic-"+path[1:4]) {
				t.Errorf("the body lacks the sentence or the request id:\n%s", body)
			}
		})
	}
	t.Run("logged with stack", func(t *testing.T) {
		var found bool
		for _, l := range f.logs.lines(t) {
			if l["msg"] == "panic serving request" && l["panic"] == secret && l["request_id"] == "panic-boo" {
				found = strings.Contains(l["stack"].(string), "server_test.go")
			}
		}
		if !found {
			t.Errorf("no panic log line with stack and request id in:\n%s", f.logs)
		}
	})
	t.Run("counted as 500", func(t *testing.T) {
		want := `sallyport_http_requests_total{method="GET",route="GET /boom",status="500"} 1`
		if m := f.metrics(t); !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	})
	t.Run("after the response started", func(t *testing.T) {
		resp, err := f.http.Client().Get(f.http.URL + "/late-boom")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Error("a response cut short by a panic reached the client as complete")
		}
	})
}

// TestPatternSetInPlace pins down the net/http behaviour the access log and
// metrics rely on: ServeMux writes Pattern into the request it was given,
// so a wrapper holding that request can read it after ServeHTTP returns.
func TestPatternSetInPlace(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x/{id}", func(http.ResponseWriter, *http.Request) {})
	var got []string
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		got = append(got, r.Pattern)
	})
	hs := httptest.NewServer(wrapped)
	defer hs.Close()
	for _, path := range []string{"/x/123", "/nope"} {
		resp, err := hs.Client().Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if diff := cmp.Diff([]string{"GET /x/{id}", ""}, got); diff != "" {
		t.Errorf("patterns seen after ServeHTTP (-want +got):\n%s", diff)
	}
}

func TestMetricsUseRoutePattern(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.HandleFunc("GET /x/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.PathValue("id")) })
	for _, p := range []string{"/x/123", "/x/456", "/no/such/page", "/another/unknown"} {
		f.get(t, p, nil)
	}
	f.do(t, "BREW", "/x/1", nil, nil)
	m := f.metrics(t)
	for _, want := range []string{
		`sallyport_http_requests_total{method="GET",route="GET /x/{id}",status="200"} 2`,
		`sallyport_http_requests_total{method="GET",route="unmatched",status="404"} 2`,
		`sallyport_http_requests_total{method="other",route="unmatched",status="405"} 1`,
		`sallyport_http_request_duration_seconds_count{method="GET",route="GET /x/{id}"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, bad := range []string{"/x/123", "/no/such/page", "BREW"} {
		if strings.Contains(m, bad) {
			t.Errorf("metrics contain the raw %q", bad)
		}
	}
}

func TestAccessLog(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.HandleFunc("GET /x/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	f.get(t, "/x/7?code=SECRETCODE&state=SECRETSTATE", http.Header{"X-Request-Id": {"log-test"}})
	f.get(t, "/healthz", nil)

	var got map[string]any
	levels := map[string]string{}
	for _, l := range f.logs.lines(t) {
		if l["msg"] != "http request" {
			continue
		}
		levels[l["route"].(string)] = l["level"].(string)
		if l["request_id"] == "log-test" {
			got = l
		}
	}
	if got == nil {
		t.Fatalf("no access log line for the request in:\n%s", f.logs)
	}
	for _, k := range []string{"time", "level", "msg", "duration", "remote_addr"} {
		if got[k] == nil || got[k] == "" {
			t.Errorf("access log lacks %s", k)
		}
		delete(got, k)
	}
	want := map[string]any{"method": "GET", "route": "GET /x/{id}", "path": "/x/7", "status": 200.0, "bytes": 5.0, "request_id": "log-test"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access log line (-want +got):\n%s", diff)
	}
	if strings.Contains(f.logs.String(), "SECRET") {
		t.Error("the query string reached the log")
	}
	if diff := cmp.Diff(map[string]string{"GET /x/{id}": "INFO", "GET /healthz": "DEBUG"}, levels); diff != "" {
		t.Errorf("levels by route (-want +got):\n%s", diff)
	}
}

func TestAccessLogSkipsProbesAtInfo(t *testing.T) {
	logs := &logBuffer{}
	f := newFixture(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	f.get(t, "/healthz", nil)
	f.metrics(t)
	f.get(t, "/readyz", nil)
	var routes []string
	for _, l := range logs.lines(t) {
		routes = append(routes, l["route"].(string))
	}
	if diff := cmp.Diff([]string{"GET /readyz"}, routes); diff != "" {
		t.Errorf("routes logged at info (-want +got):\n%s", diff)
	}
}

func TestUnmatchedAnsweredWithOutcomePages(t *testing.T) {
	f := newFixture(t, nil)
	t.Run("404", func(t *testing.T) {
		resp, body := f.get(t, "/no/such/page", nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "<code>not_found</code>") {
			t.Errorf("GET /no/such/page = %d\n%s", resp.StatusCode, body)
		}
		if strings.Contains(body, "404 page not found") {
			t.Error("the mux's plain-text answer leaked into the page")
		}
	})
	t.Run("405", func(t *testing.T) {
		resp, body := f.do(t, "DELETE", "/healthz", nil, http.Header{"Accept": {"application/json"}})
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(body, `"error":"invalid_request"`) {
			t.Errorf("DELETE /healthz = %d %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Allow"); got != "GET, HEAD" {
			t.Errorf("Allow = %q, want \"GET, HEAD\"", got)
		}
	})
	t.Run("HEAD has no body", func(t *testing.T) {
		resp, body := f.do(t, "HEAD", "/no/such/page", nil, nil)
		if resp.StatusCode != http.StatusNotFound || body != "" {
			t.Errorf("HEAD = %d %q", resp.StatusCode, body)
		}
	})
}

func TestStatic(t *testing.T) {
	f := newFixture(t, nil)
	resp, body := f.get(t, "/static/style.css", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Fatalf("GET style.css = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(body, "http:") || strings.Contains(body, "https:") || strings.Contains(body, "@import") {
		t.Error("the stylesheet loads something from elsewhere")
	}
	etag := resp.Header.Get("ETag")
	resp, _ = f.get(t, "/static/style.css", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with ETag %s = %d, want 304", etag, resp.StatusCode)
	}
	for _, p := range []string{"/static/", "/static/nope.css", "/static/../server.go"} {
		if resp, _ := f.get(t, p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestNewHTTPServer(t *testing.T) {
	logs := &logBuffer{}
	h := http.NotFoundHandler()
	srv := NewHTTPServer(":8080", h, slog.New(slog.NewJSONHandler(logs, nil)))
	type limits struct {
		Addr                                                      string
		ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
		MaxHeaderBytes                                            int
	}
	got := limits{srv.Addr, srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes}
	want := limits{":8080", 5 * time.Second, 30 * time.Second, 30 * time.Second, 120 * time.Second, 64 << 10}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("server limits (-want +got):\n%s", diff)
	}
	srv.ErrorLog.Print("http: TLS handshake error from 192.0.2.1:1234: EOF")
	lines := logs.lines(t)
	if len(lines) != 1 || lines[0]["level"] != "WARN" || !strings.Contains(lines[0]["msg"].(string), "TLS handshake") {
		t.Errorf("ErrorLog wrote %v", lines)
	}
}
