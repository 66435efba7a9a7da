package web

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sallyport/sallyport/internal/outcome"
)

// Response headers every answer carries. The policy allows our own
// stylesheet, scripts and images and nothing from anywhere else; pages are
// never framed, never leak the URL (which may hold a code or state) in a
// Referer, and share no browsing context with other sites' windows.
const (
	contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// contentSecurityPolicyFormsLeave is the policy of the pages whose form
	// ends in a redirect to an app on another origin: the consent page
	// (Allow sends the code to the app) and the callback re-post page (a
	// sign-in that completes an app's request). Browsers apply
	// form-action to every redirect after a submission, so 'self' would
	// stop the person on our page. Those pages' actions are fixed paths of
	// our own, never taken from input.
	contentSecurityPolicyFormsLeave = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"
	strictTransportSecurity         = "max-age=63072000; includeSubDomains"
	requestIDHeader                 = "X-Request-Id"
)

// Routes whose success is logged at Debug: probes and scrapes arrive every
// few seconds and would drown the log at Info.
const (
	healthzPattern = "GET /healthz"
	metricsPattern = "GET /metrics"
)

// unmatchedRoute labels requests that matched no pattern: labelling them by
// raw path would let any client create unbounded metric series.
const unmatchedRoute = "unmatched"

// chain wraps h in the middleware, outermost first as listed in the package
// documentation. The order matters: recovery must see every panic, the
// request id must exist before anything logs, and the log and metrics must
// see refusals by the inner layers.
func (s *Server) chain(h http.Handler) http.Handler {
	h = s.limitBody(h)
	h = s.cop.Handler(h)
	h = s.securityHeaders(h)
	h = s.observe(h)
	h = s.accessLog(h)
	h = s.requestID(h)
	return s.recoverPanics(h)
}

// recorder remembers the status and size of a response for the access log,
// the metrics and panic recovery. The outermost middleware creates the one
// recorder of a request and the others reuse it.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

// recorderFor returns the request's recorder, wrapping w when the chain was
// composed without one further out.
func recorderFor(w http.ResponseWriter) *recorder {
	if rec, ok := w.(*recorder); ok {
		return rec
	}
	return &recorder{ResponseWriter: w}
}

func (rw *recorder) WriteHeader(code int) {
	// 1xx answers other than 101 precede the real one.
	if !rw.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rw.status, rw.wroteHeader = code, true
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(p []byte) (int, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	n, err := rw.ResponseWriter.Write(p)
	rw.bytes += int64(n)
	return n, err
}

// Flush keeps streaming responses working through the wrapper.
func (rw *recorder) Flush() {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(rw.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// statusOf is the status the client got, or will get: a request still
// unwinding from a panic is about to be answered 500 by recoverPanics.
func (rw *recorder) statusOf(panicking bool) int {
	switch {
	case rw.wroteHeader:
		return rw.status
	case panicking:
		return http.StatusInternalServerError
	default:
		return http.StatusOK
	}
}

// recoverPanics turns a panicking handler into a logged 500 page. The page
// shows the outcome sentence, never the panic value. A panic after the
// response started cannot be answered any more, so the connection is
// aborted rather than leaving the client a truncated answer that looks whole.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorderFor(w)
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p) // the handler's deliberate abort: net/http stays quiet
			}
			id := rec.Header().Get(requestIDHeader)
			s.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
				slog.String("panic", fmt.Sprint(p)),
				slog.String("stack", string(debug.Stack())),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("request_id", id))
			if rec.wroteHeader {
				panic(http.ErrAbortHandler)
			}
			s.render(rec, r, outcome.Wrap(outcome.Internal, fmt.Errorf("panic: %v", p)), id)
		}()
		next.ServeHTTP(rec, r)
	})
}

// requestID gives the request an id for the logs, the error page and the
// response header. A well-formed incoming X-Request-Id (from a load
// balancer) is kept so one id follows the request across hops; anything
// else is replaced, so a client cannot inject text into the logs.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			var b [16]byte
			if _, err := io.ReadFull(s.rand, b[:]); err != nil {
				// Without randomness nothing secure can happen here.
				s.log.LogAttrs(r.Context(), slog.LevelError, "request id", slog.String("err", err.Error()))
				s.render(w, r, outcome.Wrap(outcome.Internal, err), "")
				return
			}
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

type requestIDKey struct{}

// RequestID returns the id the middleware gave the request carrying ctx,
// or "" outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID reports whether id matches [A-Za-z0-9._-]{1,64}.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// accessLog writes one line per request. It logs the path but never the
// query, which carries codes and state.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorderFor(w)
		start := s.now()
		finished := false
		defer func() {
			level := slog.LevelInfo
			if r.Pattern == healthzPattern || r.Pattern == metricsPattern {
				level = slog.LevelDebug
			}
			ctx := r.Context()
			if !s.log.Enabled(ctx, level) {
				return
			}
			s.log.LogAttrs(ctx, level, "http request",
				slog.String("method", r.Method),
				slog.String("route", routeLabel(r)),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.statusOf(!finished)),
				slog.Int64("bytes", rec.bytes),
				slog.Duration("duration", s.now().Sub(start)),
				slog.String("request_id", RequestID(ctx)),
				slog.String("remote_addr", r.RemoteAddr))
		}()
		next.ServeHTTP(rec, r)
		finished = true
	})
}

// httpMetrics are the request counter and latency histogram.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sallyport_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sallyport_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("web: register metrics: %w", err)
		}
	}
	return m, nil
}

// observe counts and times requests. Every label is bounded: the route is a
// registered pattern or "unmatched", the method one of the standard ones or
// "other", the status a three-digit number.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorderFor(w)
		start := s.now()
		finished := false
		defer func() {
			route, method := routeLabel(r), methodLabel(r.Method)
			status := strconv.Itoa(rec.statusOf(!finished))
			s.metrics.requests.WithLabelValues(route, method, status).Inc()
			s.metrics.duration.WithLabelValues(route, method).Observe(s.now().Sub(start).Seconds())
		}()
		// ServeMux sets r.Pattern on this very request before calling the
		// route's handler, so it is readable here once next returns, as
		// long as no layer in between replaces the request.
		next.ServeHTTP(rec, r)
		finished = true
	})
}

// routeLabel is the pattern the request matched, or "unmatched".
func routeLabel(r *http.Request) string {
	if r.Pattern == "" {
		return unmatchedRoute
	}
	return r.Pattern
}

// methodLabel bounds the method label: clients may send any token.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// markRoute labels a request refused before the mux saw it with the
// pattern it would have matched, so refusals count against their route.
func (s *Server) markRoute(r *http.Request) {
	if r.Pattern == "" {
		_, r.Pattern = s.mux.Handler(r)
	}
}

// securityHeaders sets the headers of every response, before the handler
// runs, so that even errors and panics carry them.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.hsts {
			h.Set("Strict-Transport-Security", strictTransportSecurity)
		}
		next.ServeHTTP(w, r)
	})
}

// errCrossOrigin is what a refused cross-origin request hears.
var errCrossOrigin = withStatus(http.StatusForbidden, outcome.New(outcome.InvalidRequest,
	"This request came from another site and was refused. Go back to the page you started from and try again."))

// denyCrossOrigin answers a request refused by cross-origin protection.
func (s *Server) denyCrossOrigin(w http.ResponseWriter, r *http.Request) {
	s.markRoute(r)
	s.WriteError(w, r, errCrossOrigin)
}

// errTooLarge is what a request over the body limit hears.
var errTooLarge = withStatus(http.StatusRequestEntityTooLarge, outcome.New(outcome.InvalidRequest,
	"The request was too large. Go back and try again with less data."))

// limitBody caps the request body. A declared length over the cap is
// refused at once; a chunked body is cut at the cap, and the handler's read
// fails with *http.MaxBytesError, which WriteError answers with 413.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.maxBody {
			s.markRoute(r)
			s.WriteError(w, r, errTooLarge)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			// Set in place, not on a copy: the mux must set Pattern on the
			// request that the log and metrics layers hold.
			r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// unmatchedWriter replaces the mux's plain-text 404 and 405 answers with
// outcome pages. The mux sets r.Pattern before it calls any handler, so an
// empty pattern when the status is written means the mux itself answered.
type unmatchedWriter struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	checked bool // a final status went by
	swallow bool // the mux's own answer is being replaced
}

func (uw *unmatchedWriter) WriteHeader(code int) {
	if !uw.checked && code >= 200 {
		uw.checked = true
		if uw.r.Pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
			uw.swallow = true
			var err error = errNotFound
			if code == http.StatusMethodNotAllowed {
				err = errMethodNotAllowed
			}
			uw.s.WriteError(uw.ResponseWriter, uw.r, err)
			return
		}
	}
	if !uw.swallow {
		uw.ResponseWriter.WriteHeader(code)
	}
}

func (uw *unmatchedWriter) Write(p []byte) (int, error) {
	if !uw.checked {
		uw.WriteHeader(http.StatusOK)
	}
	if uw.swallow {
		return len(p), nil
	}
	return uw.ResponseWriter.Write(p)
}

// Flush keeps streaming responses working through the wrapper.
func (uw *unmatchedWriter) Flush() {
	if !uw.checked {
		uw.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(uw.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (uw *unmatchedWriter) Unwrap() http.ResponseWriter { return uw.ResponseWriter }

// errNotFound and errMethodNotAllowed answer requests that match no route.
var (
	errNotFound         = outcome.New(outcome.NotFound, "Nothing was found here. Check the address, or start again.")
	errMethodNotAllowed = withStatus(http.StatusMethodNotAllowed, outcome.New(outcome.InvalidRequest,
		"This page does not accept that kind of request. Go back and try again."))
)
