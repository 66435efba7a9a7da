package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sallyport/sallyport/internal/outcome"
)

// limited is a rate limiter's refusal as the ratelimit package might
// define it: an outcome wrapping a cause that knows the wait.
type limited struct{ wait time.Duration }

func (l limited) Error() string             { return "limit exceeded" }
func (l limited) RetryAfter() time.Duration { return l.wait }
func rateLimited(d time.Duration) error     { return outcome.Wrap(outcome.RateLimited, limited{d}) }

// errorCases are the errors the test routes hand to WriteError.
var errorCases = map[string]error{
	"invalid_state":  outcome.New(outcome.InvalidState, ""),
	"not_allowed":    fmt.Errorf("reconcile: %w", outcome.New(outcome.NotAllowed, "Only example.com accounts may sign in here.")),
	"internal":       outcome.Wrap(outcome.Internal, errors.New("pq: password authentication failed for user sallyport")),
	"internal_msg":   &outcome.Error{Code: outcome.Internal, Message: "db at 10.1.2.3 is down"},
	"plain":          errors.New("open /var/lib/sallyport/secret.key: permission denied"),
	"too_large":      fmt.Errorf("parse form: %w", &http.MaxBytesError{Limit: 1}),
	"unknown_code":   outcome.New("bogus", "bogus"),
	"success_code":   outcome.New(outcome.Linked, ""),
	"rate_limited":   rateLimited(1500 * time.Millisecond),
	"rate_no_hint":   outcome.New(outcome.RateLimited, ""),
	"conflict":       outcome.New(outcome.ProviderSubjectConflict, ""),
	"nil_is_handled": nil,
}

func newErrorFixture(t *testing.T) *fixture {
	f := newFixture(t, nil)
	h := func(w http.ResponseWriter, r *http.Request) {
		err, ok := errorCases[r.PathValue("name")]
		if !ok {
			t.Errorf("no error case %q", r.PathValue("name"))
		}
		f.srv.WriteError(w, r, err)
	}
	f.srv.HandleFunc("GET /fail/{name}", h)
	f.srv.HandleFunc("GET /api/fail/{name}", h)
	f.srv.HandleFunc("GET /oauth2/fail/{name}", h)
	return f
}

func TestWriteErrorStatusAndBody(t *testing.T) {
	f := newErrorFixture(t)
	tests := []struct {
		name       string
		status     int
		code       outcome.Code
		message    string
		retryAfter string
	}{
		{"invalid_state", 400, outcome.InvalidState, outcome.InvalidState.Sentence(), ""},
		{"not_allowed", 403, outcome.NotAllowed, "Only example.com accounts may sign in here.", ""},
		{"internal", 500, outcome.Internal, outcome.Internal.Sentence(), ""},
		{"internal_msg", 500, outcome.Internal, outcome.Internal.Sentence(), ""},
		{"plain", 500, outcome.Internal, outcome.Internal.Sentence(), ""},
		{"too_large", 413, outcome.InvalidRequest, errTooLarge.err.Sentence(), ""},
		{"unknown_code", 500, outcome.Internal, outcome.Internal.Sentence(), ""},
		{"success_code", 500, outcome.Internal, outcome.Internal.Sentence(), ""},
		{"rate_limited", 429, outcome.RateLimited, outcome.RateLimited.Sentence(), "2"},
		{"rate_no_hint", 429, outcome.RateLimited, outcome.RateLimited.Sentence(), ""},
		{"conflict", 409, outcome.ProviderSubjectConflict, outcome.ProviderSubjectConflict.Sentence(), ""},
		{"nil_is_handled", 500, outcome.Internal, outcome.Internal.Sentence(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.get(t, "/api/fail/"+tt.name, nil)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			var got errorBody
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			want := errorBody{Error: tt.code, Message: tt.message, RequestID: resp.Header.Get("X-Request-Id")}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			for _, leak := range []string{"password", "10.1.2.3", "secret.key", "bogus"} {
				if strings.Contains(body, leak) {
					t.Errorf("body leaks %q: %s", leak, body)
				}
			}
		})
	}
}

func TestWriteErrorLogsCauses(t *testing.T) {
	f := newErrorFixture(t)
	f.get(t, "/fail/internal", http.Header{"X-Request-Id": {"cause-test"}})
	for _, l := range f.logs.lines(t) {
		if l["msg"] == "request failed" && l["request_id"] == "cause-test" {
			if l["level"] != "ERROR" || !strings.Contains(l["err"].(string), "password authentication failed") {
				t.Errorf("log line %v lacks the cause at ERROR", l)
			}
			return
		}
	}
	t.Errorf("no log line for the internal error in:\n%s", f.logs)
}

func TestWriteErrorNegotiation(t *testing.T) {
	f := newErrorFixture(t)
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	tests := []struct {
		path, accept string
		json         bool
	}{
		{"/fail/invalid_state", browser, false},
		{"/fail/invalid_state", "", false},
		{"/fail/invalid_state", "application/json", true},
		{"/fail/invalid_state", "text/html, application/json;q=0.5", true},
		{"/fail/invalid_state", "application/json;q=0", false},
		{"/fail/invalid_state", "application/jsonx", false},
		{"/api/fail/invalid_state", browser, true},
		{"/oauth2/fail/invalid_state", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.accept, func(t *testing.T) {
			h := http.Header{}
			if tt.accept != "" {
				h.Set("Accept", tt.accept)
			}
			resp, body := f.get(t, tt.path, h)
			ct := resp.Header.Get("Content-Type")
			if tt.json {
				if ct != "application/json; charset=utf-8" || !json.Valid([]byte(body)) {
					t.Errorf("got %s %q, want JSON", ct, body)
				}
			} else if ct != "text/html; charset=utf-8" || !strings.HasPrefix(body, "<!doctype html>") {
				t.Errorf("got %s %q, want an HTML page", ct, body)
			}
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
		})
	}
}

// TestErrorPageGolden pins the rendered pages and JSON; refresh with
// go test ./internal/web -run Golden -update.
func TestErrorPageGolden(t *testing.T) {
	f := newErrorFixture(t)
	tests := []struct{ path, file string }{
		{"/fail/invalid_state", "error_invalid_state.html"},
		{"/fail/not_allowed", "error_not_allowed.html"},
		{"/fail/internal", "error_internal.html"},
		{"/no/such/page", "error_not_found.html"},
		{"/api/fail/rate_limited", "error_rate_limited.json"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, body := f.get(t, tt.path, http.Header{"X-Request-Id": {"golden-request-id"}})
			golden(t, tt.file, []byte(body))
		})
	}
}

func TestErrorPageEscapes(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {
		f.srv.WriteError(w, r, outcome.New(outcome.NotAllowed, `<script>alert(1)</script>`))
	})
	_, body := f.get(t, "/x", nil)
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("the message is not escaped:\n%s", body)
	}
}

func TestWriteErrorAfterResponseStarted(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		f.srv.WriteError(w, r, outcome.New(outcome.InvalidState, ""))
	})
	resp, body := f.get(t, "/x", http.Header{"X-Request-Id": {"late-error"}})
	if resp.StatusCode != http.StatusOK || body != "partial" {
		t.Errorf("got %d %q, want the response left as it was", resp.StatusCode, body)
	}
	for _, l := range f.logs.lines(t) {
		if l["msg"] == "error after the response started" && l["request_id"] == "late-error" {
			return
		}
	}
	t.Errorf("the late error was not logged:\n%s", f.logs)
}
