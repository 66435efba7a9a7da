// Package ratelimit limits how often one key may pass: sign-in, callback,
// password, TOTP, reset and token endpoints, per IP and per account
// (DESIGN.md §7, "Abuse"). Callers build keys such as
// "login:ip:203.0.113.7" or "password:account:<user id>"; a refusal is an
// [Error] with the outcome rate_limited and the time to wait, which
// internal/web turns into 429 with Retry-After.
//
// Limits follow the generic cell rate algorithm (GCRA): each key keeps one
// timestamp, its theoretical arrival time (TAT). A request is admitted when
// it would not push TAT more than Burst emission intervals past now. One
// replica uses [Memory]; several share a PostgreSQL implementation of the
// same [Limiter] and the same arithmetic.
package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sallyport/sallyport/internal/outcome"
)

// Limiter decides whether one more request for key may pass now. An error
// means the limiter could not decide (a shared store is unreachable); callers
// refuse the request rather than let it through unlimited.
type Limiter interface {
	Allow(ctx context.Context, key string) (Decision, error)
}

// Decision is a limiter's answer for one request.
type Decision struct {
	// Allowed reports whether the request may proceed; a refused request
	// uses up nothing.
	Allowed bool
	// RetryAfter is how long until a request for the key would be allowed;
	// zero when Allowed.
	RetryAfter time.Duration
	// Remaining is how many more requests would be allowed right now.
	Remaining int
}

// Error is a refusal: its outcome is rate_limited, and it tells how long
// to wait, through RetryAfter, which is what internal/web looks for to set
// Retry-After.
type Error struct {
	wait    time.Duration
	outcome *outcome.Error
}

// Refuse returns the error a handler returns for a refused decision, or nil
// when d is Allowed:
//
//	if !d.Allowed {
//		return ratelimit.Refuse(d)
//	}
func Refuse(d Decision) error {
	if d.Allowed {
		return nil
	}
	return &Error{wait: d.RetryAfter, outcome: outcome.New(outcome.RateLimited, "")}
}

// Error describes the refusal for logs.
func (e *Error) Error() string {
	return fmt.Sprintf("ratelimit: %s: retry after %v", outcome.RateLimited, e.wait)
}

// RetryAfter is how long the client should wait before trying again.
func (e *Error) RetryAfter() time.Duration { return e.wait }

// Unwrap returns the *outcome.Error with code rate_limited.
func (e *Error) Unwrap() error { return e.outcome }

// Middleware limits the requests to the handlers it wraps, one key per
// request from keyFunc. A refusal, or the limiter's own failure, goes to
// onRefuse (typically the web server's WriteError) and stops the request:
// a limiter that cannot decide does not let requests through.
func Middleware(l Limiter, keyFunc func(*http.Request) string, onRefuse func(w http.ResponseWriter, r *http.Request, err error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, err := l.Allow(r.Context(), keyFunc(r))
			if err == nil {
				err = Refuse(d)
			}
			if err != nil {
				onRefuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
