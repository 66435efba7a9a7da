package audit

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// fakeQueries keeps appended events in memory. It implements only
// AppendAuditEvent: the embedded nil Queries makes any other call panic,
// which proves Record touches nothing else.
type fakeQueries struct {
	store.Queries
	events []store.AuditEvent
	err    error
}

func (f *fakeQueries) AppendAuditEvent(_ context.Context, e *store.AuditEvent) error {
	if f.err != nil {
		return f.err
	}
	e.ID = int64(len(f.events) + 1)
	f.events = append(f.events, *e)
	return nil
}

var testNow = time.Date(2026, 3, 1, 12, 30, 45, 123456789, time.FixedZone("CET", 3600))

func newTestRecorder() *Recorder {
	return New(Config{Now: func() time.Time { return testNow }})
}

func TestRecord(t *testing.T) {
	q := &fakeQueries{}
	err := newTestRecorder().Record(context.Background(), q, Event{
		Type:         "login.callback",
		Outcome:      outcome.JITCreated,
		ActorID:      "u1",
		UserID:       "u1",
		OrgID:        "o1",
		ConnectionID: "c1",
		IP:           "203.0.113.7",
		UserAgent:    "Mozilla/5.0",
		Detail:       map[string]any{"subject": "1234", "role": "member", "attempt": 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.AuditEvent{{
		ID:           1,
		At:           time.Date(2026, 3, 1, 11, 30, 45, 123000000, time.UTC),
		Type:         "login.callback",
		Outcome:      "jit_created",
		ActorID:      "u1",
		UserID:       "u1",
		OrgID:        "o1",
		ConnectionID: "c1",
		IP:           "203.0.113.7",
		UserAgent:    "Mozilla/5.0",
		Detail:       []byte(`{"attempt":2,"role":"member","subject":"1234"}`),
	}}
	if diff := cmp.Diff(want, q.events); diff != "" {
		t.Errorf("appended events mismatch (-want +got):\n%s", diff)
	}
}

func TestRecordDetailEncoding(t *testing.T) {
	type upstream struct {
		Issuer string `json:"issuer"`
		Status int    `json:"status"`
	}
	tests := []struct {
		name   string
		detail map[string]any
		want   string
	}{
		{"nil", nil, `{}`},
		{"empty", map[string]any{}, `{}`},
		{"nested and struct", map[string]any{"upstream": upstream{"https://idp.example", 502}, "ids": []string{"a", "b"}},
			`{"ids":["a","b"],"upstream":{"issuer":"https://idp.example","status":502}}`},
		{"large number kept exact", map[string]any{"n": int64(1) << 62}, `{"n":4611686018427387904}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueries{}
			if err := newTestRecorder().Record(context.Background(), q, Event{Type: "a.b", Outcome: outcome.Validated, Detail: tt.detail}); err != nil {
				t.Fatal(err)
			}
			if got := string(q.events[0].Detail); got != tt.want {
				t.Errorf("Detail = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRecordRefuses(t *testing.T) {
	valid := Event{Type: "login.callback", Outcome: outcome.ExistingIdentity}
	with := func(f func(*Event)) Event { e := valid; f(&e); return e }
	type cred struct {
		RefreshToken string `json:"refresh_token"`
	}
	tests := []struct {
		name    string
		event   Event
		wantErr error
		wantMsg string // substring
	}{
		{"empty type", with(func(e *Event) { e.Type = "" }), ErrInvalidEvent, "type"},
		{"no dot", with(func(e *Event) { e.Type = "login" }), ErrInvalidEvent, `"login"`},
		{"upper case", with(func(e *Event) { e.Type = "Login.Callback" }), ErrInvalidEvent, "dotted lower-case"},
		{"empty segment", with(func(e *Event) { e.Type = "login..callback" }), ErrInvalidEvent, "type"},
		{"trailing dot", with(func(e *Event) { e.Type = "login.callback." }), ErrInvalidEvent, "type"},
		{"space", with(func(e *Event) { e.Type = "login.call back" }), ErrInvalidEvent, "type"},
		{"too long", with(func(e *Event) { e.Type = "a." + strings.Repeat("b", 80) }), ErrInvalidEvent, "type"},
		{"no outcome", with(func(e *Event) { e.Outcome = "" }), ErrInvalidEvent, "outcome"},
		{"unknown outcome", with(func(e *Event) { e.Outcome = "great_success" }), ErrInvalidEvent, "great_success"},
		{"ip with port", with(func(e *Event) { e.IP = "192.0.2.1:4431" }), ErrInvalidEvent, "ip"},
		{"reserved key", with(func(e *Event) { e.Detail = map[string]any{"_truncated": false} }), ErrInvalidEvent, "reserved"},
		{"unmarshalable", with(func(e *Event) { e.Detail = map[string]any{"f": func() {}} }), ErrInvalidEvent, "detail"},

		{"token", with(func(e *Event) { e.Detail = map[string]any{"token": "x"} }), ErrSecretDetail, `"token"`},
		{"camel case", with(func(e *Event) { e.Detail = map[string]any{"accessToken": "x"} }), ErrSecretDetail, "accessToken"},
		{"client secret", with(func(e *Event) { e.Detail = map[string]any{"Client_Secret": "x"} }), ErrSecretDetail, "Client_Secret"},
		{"password", with(func(e *Event) { e.Detail = map[string]any{"new_password": "x"} }), ErrSecretDetail, "new_password"},
		{"code verifier", with(func(e *Event) { e.Detail = map[string]any{"code_verifier": "x"} }), ErrSecretDetail, "code_verifier"},
		{"state", with(func(e *Event) { e.Detail = map[string]any{"STATE": "x"} }), ErrSecretDetail, "STATE"},
		{"nonce", with(func(e *Event) { e.Detail = map[string]any{"nonce": "x"} }), ErrSecretDetail, "nonce"},
		{"cookie", with(func(e *Event) { e.Detail = map[string]any{"set_cookie": "x"} }), ErrSecretDetail, "set_cookie"},
		{"authorization", with(func(e *Event) { e.Detail = map[string]any{"Authorization": "Bearer x"} }), ErrSecretDetail, "Authorization"},
		{"nested map", with(func(e *Event) {
			e.Detail = map[string]any{"upstream": map[string]any{"error": "x", "id_token": "ey..."}}
		}), ErrSecretDetail, `"upstream.id_token"`},
		{"in a list", with(func(e *Event) {
			e.Detail = map[string]any{"hops": []any{map[string]any{"ok": 1}, map[string]any{"nonce": "n"}}}
		}),
			ErrSecretDetail, `"hops[1].nonce"`},
		{"struct field", with(func(e *Event) { e.Detail = map[string]any{"grant": cred{"r"}} }), ErrSecretDetail, "grant.refresh_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueries{}
			err := newTestRecorder().Record(context.Background(), q, tt.event)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "audit: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			// The value of a refused key must not appear in the error either.
			if strings.Contains(err.Error(), "Bearer x") || strings.Contains(err.Error(), "ey...") {
				t.Errorf("error %q repeats a secret value", err)
			}
			if len(q.events) != 0 {
				t.Errorf("an invalid event was appended: %+v", q.events)
			}
		})
	}
}

func TestRecordAcceptsHarmlessKeys(t *testing.T) {
	// Names near the secret words that must still be allowed.
	detail := map[string]any{"status": "active", "kid": "k1", "client_id": "app", "code_challenge_method": "S256", "error": "access_denied", "stage": 2}
	q := &fakeQueries{}
	if err := newTestRecorder().Record(context.Background(), q, Event{Type: "a.b", Outcome: outcome.UpstreamError, Detail: detail}); err != nil {
		t.Fatal(err)
	}
}

func TestRecordAppendError(t *testing.T) {
	boom := errors.New("database is locked")
	err := newTestRecorder().Record(context.Background(), &fakeQueries{err: boom}, Event{Type: "a.b", Outcome: outcome.Activated})
	if !errors.Is(err, boom) {
		t.Errorf("error = %v, want it to wrap the store's error", err)
	}
}

func TestRecordDefaultClock(t *testing.T) {
	q := &fakeQueries{}
	before := time.Now().Add(-time.Second)
	if err := New(Config{}).Record(context.Background(), q, Event{Type: "a.b", Outcome: outcome.Activated}); err != nil {
		t.Fatal(err)
	}
	if at := q.events[0].At; at.Before(before) || at.Location() != time.UTC {
		t.Errorf("At = %v, want now in UTC", at)
	}
}

func TestUserAgentCleaned(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short", "curl/8.0", "curl/8.0"},
		{"exactly the limit", strings.Repeat("a", MaxUserAgent), strings.Repeat("a", MaxUserAgent)},
		{"over the limit", strings.Repeat("a", 600), strings.Repeat("a", MaxUserAgent)},
		// "é" is two bytes; 511 a's leave room for only half of it.
		{"no split character", strings.Repeat("a", MaxUserAgent-1) + "éé", strings.Repeat("a", MaxUserAgent-1)},
		{"control characters", "evil\r\nX-Injected: 1\x00\x7f", "evilX-Injected: 1"},
		{"invalid utf-8", "bad\xff\xfe", "bad\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueries{}
			if err := newTestRecorder().Record(context.Background(), q, Event{Type: "a.b", Outcome: outcome.Activated, UserAgent: tt.in}); err != nil {
				t.Fatal(err)
			}
			got := q.events[0].UserAgent
			if got != tt.want {
				t.Errorf("UserAgent = %q, want %q", got, tt.want)
			}
			if len(got) > MaxUserAgent || !utf8.ValidString(got) {
				t.Errorf("UserAgent is %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
			}
		})
	}
}

func TestDetailTruncated(t *testing.T) {
	long := strings.Repeat("é<\"", 4000) // multi-byte, and characters JSON escapes
	detail := map[string]any{
		"a_description": long,
		"b_blob":        map[string]any{"x": strings.Repeat("y", 10000)},
		"c_connection":  "c1",
		"d_count":       3,
	}
	q := &fakeQueries{}
	if err := newTestRecorder().Record(context.Background(), q, Event{Type: "login.callback", Outcome: outcome.UpstreamError, Detail: detail}); err != nil {
		t.Fatal(err)
	}
	raw := q.events[0].Detail
	if len(raw) > MaxDetail {
		t.Errorf("Detail is %d bytes, want at most %d", len(raw), MaxDetail)
	}
	if len(raw) < MaxDetail-64 {
		t.Errorf("Detail is %d bytes: truncation wasted room", len(raw))
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("Detail is not JSON: %v\n%s", err, raw)
	}
	if got["_truncated"] != true {
		t.Errorf(`_truncated = %v, want true`, got["_truncated"])
	}
	// The small facts survive whole; the long string is cut; the big
	// structure, which cannot be cut sensibly, is dropped.
	if got["c_connection"] != "c1" || got["d_count"] != float64(3) {
		t.Errorf("small entries lost: %v, %v", got["c_connection"], got["d_count"])
	}
	desc, _ := got["a_description"].(string)
	if !strings.HasSuffix(desc, "…") || !strings.HasPrefix(long, strings.TrimSuffix(desc, "…")) || len(desc) < 1000 {
		t.Errorf("a_description is not a marked prefix of the original (%d bytes)", len(desc))
	}
	if _, ok := got["b_blob"]; ok {
		t.Error("b_blob kept, want it dropped")
	}
}

func TestDetailAtLimitNotTruncated(t *testing.T) {
	// {"k":"…"} is 8 bytes around the value.
	detail := map[string]any{"k": strings.Repeat("v", MaxDetail-8)}
	q := &fakeQueries{}
	if err := newTestRecorder().Record(context.Background(), q, Event{Type: "a.b", Outcome: outcome.Activated, Detail: detail}); err != nil {
		t.Fatal(err)
	}
	if raw := q.events[0].Detail; len(raw) != MaxDetail || strings.Contains(string(raw), "_truncated") {
		t.Errorf("Detail at exactly %d bytes was changed to %d bytes", MaxDetail, len(raw))
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"longer text", 6, "longer…"},
		{"héllo", 2, "h…"}, // never half a rune
	} {
		if got := Clip(c.in, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
