package ratelimit

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sallyport/sallyport/internal/outcome"
)

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

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

// allow calls Allow and fails the test on an error.
func allow(t *testing.T, l Limiter, key string) Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), key)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return d
}

func allowN(t *testing.T, l Limiter, key string, n int) []Decision {
	t.Helper()
	var ds []Decision
	for range n {
		ds = append(ds, allow(t, l, key))
	}
	return ds
}

func ok(remaining int) Decision           { return Decision{Allowed: true, Remaining: remaining} }
func refused(wait time.Duration) Decision { return Decision{RetryAfter: wait} }

func TestBurstThenRefusal(t *testing.T) {
	clk := newClock()
	m := NewMemory(MemoryConfig{Rate: 6, Burst: 3, Now: clk.Now}) // one every 10 s
	const key = "login:ip:203.0.113.7"

	got := allowN(t, m, key, 5)
	want := []Decision{ok(2), ok(1), ok(0), refused(10 * time.Second), refused(10 * time.Second)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("at t0 (-want +got):\n%s", diff)
	}

	clk.Advance(4 * time.Second)
	if diff := cmp.Diff(refused(6*time.Second), allow(t, m, key)); diff != "" {
		t.Errorf("at t0+4s (-want +got):\n%s", diff)
	}
}

func TestRefill(t *testing.T) {
	clk := newClock()
	m := NewMemory(MemoryConfig{Rate: 6, Burst: 3, Now: clk.Now})
	const key = "password:account:u1"
	allowN(t, m, key, 3)

	steps := []struct {
		advance time.Duration
		want    []Decision
	}{
		{10 * time.Second, []Decision{ok(0), refused(10 * time.Second)}},
		{25 * time.Second, []Decision{ok(1), ok(0), refused(5 * time.Second)}},  // 2.5 intervals refill 2
		{time.Hour, []Decision{ok(2), ok(1), ok(0), refused(10 * time.Second)}}, // never more than Burst
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		if diff := cmp.Diff(s.want, allowN(t, m, key, len(s.want))); diff != "" {
			t.Errorf("step %d, after %v (-want +got):\n%s", i, s.advance, diff)
		}
	}
}

// TestRefusedUsesNothing: hammering a refused key does not push its
// retry time further out.
func TestRefusedUsesNothing(t *testing.T) {
	clk := newClock()
	m := NewMemory(MemoryConfig{Rate: 60, Burst: 1, Now: clk.Now})
	allow(t, m, "k")
	for range 100 {
		if d := allow(t, m, "k"); d.Allowed || d.RetryAfter != time.Second {
			t.Fatalf("got %+v, want refused for 1s", d)
		}
	}
	clk.Advance(time.Second)
	if d := allow(t, m, "k"); !d.Allowed {
		t.Errorf("after 1s got %+v, want allowed", d)
	}
}

func TestFractionalRate(t *testing.T) {
	clk := newClock()
	m := NewMemory(MemoryConfig{Rate: 10.0 / 60, Burst: 2, Now: clk.Now}) // 10 an hour
	got := allowN(t, m, "reset:account:u1", 3)
	want := []Decision{ok(1), ok(0), refused(6 * time.Minute)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestIndependentKeys(t *testing.T) {
	clk := newClock()
	m := NewMemory(MemoryConfig{Rate: 60, Burst: 2, Now: clk.Now})
	allowN(t, m, "login:ip:203.0.113.7", 2)
	if d := allow(t, m, "login:ip:203.0.113.7"); d.Allowed {
		t.Fatal("exhausted key allowed")
	}
	for _, key := range []string{"login:ip:203.0.113.8", "totp:ip:203.0.113.7", "login:account:203.0.113.7", ""} {
		if diff := cmp.Diff(ok(1), allow(t, m, key)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", key, diff)
		}
	}
}

func TestDefaults(t *testing.T) {
	m := NewMemory(MemoryConfig{Rate: 60})
	if m.maxKeys != DefaultMaxKeys || m.window != time.Second {
		t.Errorf("maxKeys = %d, window = %v; want %d, 1s (Burst 1)", m.maxKeys, m.window, DefaultMaxKeys)
	}
	if d := allow(t, m, "k"); !d.Allowed {
		t.Errorf("real clock: first request refused: %+v", d)
	}
	for _, rate := range []float64{0, -1, math.NaN()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewMemory(Rate: %v) did not panic", rate)
				}
			}()
			NewMemory(MemoryConfig{Rate: rate})
		}()
	}
}

// TestMaxKeysBound: however many keys arrive, at most MaxKeys are kept,
// even when every one of them is busy.
func TestMaxKeysBound(t *testing.T) {
	clk := newClock()
	m := NewMemory(MemoryConfig{Rate: 1, Burst: 5, Now: clk.Now, MaxKeys: 50})
	for i := range 5000 {
		allow(t, m, "login:ip:"+strconv.Itoa(i))
		if i%100 == 0 {
			clk.Advance(time.Millisecond)
		}
		if n := m.keys(); n > 50 {
			t.Fatalf("after %d keys: %d tracked, want at most 50", i+1, n)
		}
	}
}

// TestEvictionPrefersIdle: making room drops keys that have refilled,
// which changes no decision, before any key that is still limited.
func TestEvictionPrefersIdle(t *testing.T) {
	clk := newClock()
	m := NewMemory(MemoryConfig{Rate: 60, Burst: 3, Now: clk.Now, MaxKeys: 3})
	allowN(t, m, "busy", 3) // idle again only after 3 s
	allow(t, m, "a")        // idle after 1 s
	allow(t, m, "b")
	clk.Advance(2 * time.Second)
	for _, key := range []string{"c", "d"} { // the map is full each time
		if d := allow(t, m, key); !d.Allowed {
			t.Fatalf("%s refused: %+v", key, d)
		}
	}
	// Two of busy's three requests have refilled; a fresh key would have three.
	want := []Decision{ok(1), ok(0), refused(time.Second)}
	if diff := cmp.Diff(want, allowN(t, m, "busy", 3)); diff != "" {
		t.Errorf("busy lost its state (-want +got):\n%s", diff)
	}
}

// TestSweepDropsEveryIdleKey: the periodic full sweep empties the map of
// idle keys in one pass.
func TestSweepDropsEveryIdleKey(t *testing.T) {
	clk := newClock()
	m := NewMemory(MemoryConfig{Rate: 60, Burst: 1, Now: clk.Now, MaxKeys: 100})
	for i := range 100 {
		allow(t, m, strconv.Itoa(i))
	}
	clk.Advance(time.Second)
	allow(t, m, "new")
	if n := m.keys(); n != 1 {
		t.Errorf("%d keys after the sweep, want 1", n)
	}
}

// TestConcurrentOneKey: many goroutines on one key never get more than
// the limit admits. Run with -race.
func TestConcurrentOneKey(t *testing.T) {
	clk := newClock()
	const burst = 50
	m := NewMemory(MemoryConfig{Rate: 60, Burst: burst, Now: clk.Now, MaxKeys: 16})
	run := func() int64 {
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for g := range 64 {
			wg.Go(func() {
				for range 20 {
					d, err := m.Allow(context.Background(), "token:client:c1")
					if err != nil {
						t.Error(err)
						return
					}
					if d.Allowed {
						admitted.Add(1)
					}
					// Other keys compete for the lock and for eviction.
					m.Allow(context.Background(), "other:"+strconv.Itoa(g))
				}
			})
		}
		wg.Wait()
		return admitted.Load()
	}
	if n := run(); n != burst {
		t.Errorf("frozen clock: %d admitted, want %d", n, burst)
	}
	clk.Advance(7 * time.Second)
	if n := run(); n != 7 {
		t.Errorf("after 7 s: %d admitted, want 7", n)
	}
}

// retryHint is internal/web's RetryHint, declared here so the test does
// not import web.
type retryHint interface{ RetryAfter() time.Duration }

func TestRefuse(t *testing.T) {
	if err := Refuse(Decision{Allowed: true, Remaining: 3}); err != nil {
		t.Errorf("Refuse(allowed) = %v, want nil", err)
	}
	err := Refuse(refused(1500 * time.Millisecond))
	wrapped := errors.Join(errors.New("login"), err)
	for _, err := range []error{err, wrapped} {
		var oe *outcome.Error
		if !errors.As(err, &oe) || oe.Code != outcome.RateLimited {
			t.Errorf("errors.As(%v, *outcome.Error) = %v, want code %s", err, oe, outcome.RateLimited)
		}
		if got := outcome.CodeOf(err); got != outcome.RateLimited {
			t.Errorf("CodeOf = %s, want %s", got, outcome.RateLimited)
		}
		var hint retryHint
		if !errors.As(err, &hint) || hint.RetryAfter() != 1500*time.Millisecond {
			t.Errorf("errors.As(%v, RetryHint) = %v, want 1.5s", err, hint)
		}
	}
	var rerr *Error
	if !errors.As(wrapped, &rerr) {
		t.Error("errors.As(*Error) failed")
	}
	if !strings.HasPrefix(err.Error(), "ratelimit: ") {
		t.Errorf("Error() = %q, want the package prefix", err)
	}
	if oe := outcome.From(err); oe.Sentence() != outcome.RateLimited.Sentence() {
		t.Errorf("sentence = %q, want the default", oe.Sentence())
	}
}

// failing is a Limiter that cannot decide, like a shared store that is down.
type failing struct{}

func (failing) Allow(context.Context, string) (Decision, error) {
	return Decision{}, errors.New("db: connection refused")
}

func TestMiddleware(t *testing.T) {
	clk := newClock()
	writeError := func(w http.ResponseWriter, r *http.Request, err error) {
		// A stand-in for web.WriteError.
		if hint, ok := err.(retryHint); ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(hint.RetryAfter().Seconds()))))
		}
		http.Error(w, string(outcome.CodeOf(err)), outcome.CodeOf(err).Status())
	}
	byHeader := func(r *http.Request) string { return "login:ip:" + r.Header.Get("X-Test-Key") }
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })

	mux := http.NewServeMux()
	mux.Handle("/limited", Middleware(NewMemory(MemoryConfig{Rate: 2, Burst: 2, Now: clk.Now}), byHeader, writeError)(hello))
	mux.Handle("/failing", Middleware(failing{}, byHeader, writeError)(hello))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	type result struct {
		Status     int
		RetryAfter string
	}
	do := func(path, key string) result {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("X-Test-Key", key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return result{resp.StatusCode, resp.Header.Get("Retry-After")}
	}
	got := []result{do("/limited", "a"), do("/limited", "a"), do("/limited", "a"), do("/limited", "b"), do("/failing", "a")}
	want := []result{{200, ""}, {200, ""}, {429, "30"}, {200, ""}, {500, ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := NewMemory(MemoryConfig{Rate: 60, Burst: 10})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m.Allow(ctx, "login:ip:203.0.113.7")
	}
}

func BenchmarkMemoryAllowParallel(b *testing.B) {
	m := NewMemory(MemoryConfig{Rate: 60, Burst: 10})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			m.Allow(ctx, "login:ip:203.0.113.7")
		}
	})
}

// BenchmarkMemoryAllowManyKeys cycles through more keys than MaxKeys, all
// busy, so most calls insert a key and evict one.
func BenchmarkMemoryAllowManyKeys(b *testing.B) {
	keys := make([]string, 200_000)
	for i := range keys {
		keys[i] = "login:ip:" + strconv.Itoa(i)
	}
	m := NewMemory(MemoryConfig{Rate: 1, Burst: 10}) // keys stay busy for 10 minutes
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Allow(ctx, keys[i%len(keys)])
		i++
	}
}
