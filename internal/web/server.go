// Package web is Sallyport's HTTP layer: one ServeMux with method patterns,
// the middleware every request passes through, and the single place where
// errors become responses (Server.WriteError). Handlers registered here are
// thin: parse, call, render. With Config.SignIn set it also serves the
// sign-in pages (signinpages.go), rendered from embedded templates that
// share one layout (pages.go).
//
// Every request passes, outermost first, through panic recovery, request
// id, access log, metrics, security headers, cross-origin protection and the
// body size limit before it reaches the mux.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultMaxBodyBytes caps a request body when Config.MaxBodyBytes is zero.
// Sign-in forms and token requests are a few kilobytes; anything near a
// mebibyte is abuse.
const DefaultMaxBodyBytes = 1 << 20

// readyTimeout bounds the readiness check: a load balancer probing a
// replica whose database hangs must hear "no" quickly, not time out itself.
const readyTimeout = 2 * time.Second

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Readiness reports whether the server can do useful work: the database is
// reachable and its migrations are current. A nil error means ready. The
// error is logged, never shown to the prober, so it may carry detail.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Config configures a Server.
type Config struct {
	// Issuer is the public base URL. Strict-Transport-Security is sent only
	// when its scheme is https: promising HTTPS on a plain-HTTP loopback
	// address would break local use for a year.
	Issuer *url.URL
	// Logger receives access logs and errors; nil discards them.
	Logger *slog.Logger
	// Registry receives the HTTP metrics and is served on GET /metrics; nil
	// gives the server a registry of its own.
	Registry *prometheus.Registry
	// Ready is the readiness check behind GET /readyz. Required.
	Ready Readiness
	// MaxBodyBytes caps every request body; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock for request durations; nil means time.Now.
	Now func() time.Time
	// Rand is the source of generated request ids; nil means crypto/rand.
	Rand io.Reader
	// SignIn serves the sign-in pages (/login, /login/{connection},
	// /callback/{connection}, /account, /logout). Nil leaves them
	// unregistered, for a server that only answers probes and metrics.
	SignIn SignIn
}

// Server is Sallyport's HTTP surface: a ServeMux behind the middleware
// chain. Later packages add their routes with Handle and HandleFunc.
type Server struct {
	log      *slog.Logger
	ready    Readiness
	maxBody  int64
	now      func() time.Time
	rand     io.Reader
	hsts     bool
	mux      *http.ServeMux
	cop      *http.CrossOriginProtection
	handler  http.Handler
	metrics  *httpMetrics
	registry *prometheus.Registry
	pages    map[string]*template.Template
	static   map[string]staticFile
	signIn   SignIn
	origin   string // the issuer's origin, scheme://host[:port], for the callback's same-origin test
	startURL string // where an error page's "Start again" leads
}

// New builds a Server with its built-in routes (/healthz, /readyz,
// /metrics, /static/), the sign-in pages when cfg.SignIn is set, and
// registers its metrics on cfg.Registry.
func New(cfg Config) (*Server, error) {
	if cfg.Issuer == nil || cfg.Issuer.Host == "" {
		return nil, errors.New("web: Config.Issuer must be an absolute URL")
	}
	if cfg.Issuer.Scheme != "https" && cfg.Issuer.Scheme != "http" {
		return nil, fmt.Errorf("web: Config.Issuer scheme %q: want https or http", cfg.Issuer.Scheme)
	}
	if cfg.Ready == nil {
		return nil, errors.New("web: Config.Ready is required")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("web: Config.MaxBodyBytes %d is negative", cfg.MaxBodyBytes)
	}
	s := &Server{
		log:      cfg.Logger,
		ready:    cfg.Ready,
		maxBody:  cfg.MaxBodyBytes,
		now:      cfg.Now,
		rand:     cfg.Rand,
		hsts:     cfg.Issuer.Scheme == "https",
		mux:      http.NewServeMux(),
		cop:      http.NewCrossOriginProtection(),
		registry: cfg.Registry,
		origin:   cfg.Issuer.Scheme + "://" + cfg.Issuer.Host,
		startURL: "/",
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	var err error
	if s.metrics, err = newHTTPMetrics(s.registry); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if s.static, err = loadStatic(); err != nil {
		return nil, err
	}
	s.cop.SetDenyHandler(http.HandlerFunc(s.denyCrossOrigin))

	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	}))
	s.mux.HandleFunc("GET /static/{file}", s.handleStatic)
	if cfg.SignIn != nil {
		s.signIn = cfg.SignIn
		s.startURL = "/login"
		s.registerSignIn()
	}

	s.handler = s.chain(http.HandlerFunc(s.route))
	return s, nil
}

// Handler returns the server's handler: the middleware chain around the mux.
func (s *Server) Handler() http.Handler { return s.handler }

// Handle registers h on the server's mux. Patterns carry the method
// ("POST /login/password") so that the mux answers 405 for the others and
// the metrics are labelled by route. Like http.ServeMux.Handle, it panics on
// an invalid or conflicting pattern, and it may be called while serving.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc registers f on the server's mux; see Handle.
func (s *Server) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	s.mux.HandleFunc(pattern, f)
}

// AllowCrossOrigin exempts requests matching pattern from cross-origin
// protection. It is for endpoints that other sites call by design: Apple's
// form_post callback and the OP token endpoint. Whatever it exempts must
// carry its own proof (state, client authentication), since a browser's
// cookies may ride along. It panics on an invalid or conflicting pattern.
func (s *Server) AllowCrossOrigin(pattern string) { s.cop.AddInsecureBypassPattern(pattern) }

// route is the innermost handler. The mux answers unmatched paths itself;
// unmatchedWriter turns those plain-text answers into outcome pages.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(&unmatchedWriter{ResponseWriter: w, s: s, r: r}, r)
}

// handleHealthz answers whether the process is alive. It touches nothing
// else, so a slow database never gets a healthy process restarted.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok\n")
}

// handleReadyz answers whether this replica should receive traffic. The
// reason it gives is one of two fixed phrases: probes are unauthenticated,
// and the check's error may name hosts or DSNs, so that goes to the log.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	// The check runs apart so that one ignoring its context still gets an
	// answer within readyTimeout; the channel is buffered so it can finish.
	done := make(chan error, 1)
	go func() {
		// A panicking check is a failed check, not a crashed process.
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("web: readiness check panicked: %v", p)
			}
		}()
		done <- s.ready.Ready(ctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		io.WriteString(w, "ready\n")
		return
	}
	reason := "dependency unavailable"
	if errors.Is(err, context.DeadlineExceeded) {
		reason = "check timed out"
	}
	s.log.LogAttrs(r.Context(), slog.LevelWarn, "not ready",
		slog.String("reason", reason), slog.String("err", err.Error()),
		slog.String("request_id", RequestID(r.Context())))
	w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(w, "not ready: "+reason+"\n")
}

// staticFile is one embedded asset with the validator that lets browsers
// revalidate it without downloading it again.
type staticFile struct {
	body        []byte
	etag        string
	contentType string
}

func loadStatic() (map[string]staticFile, error) {
	files := map[string]staticFile{}
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}
	err := fs.WalkDir(staticFS, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct, ok := types[path.Ext(name)]
		if !ok {
			ct = "application/octet-stream"
		}
		files[d.Name()] = staticFile{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, contentType: ct}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: load static files: %w", err)
	}
	return files, nil
}

// handleStatic serves the embedded stylesheet and images. There is no
// directory listing and no file system behind it: the set is fixed at build.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := s.static[r.PathValue("file")]
	if !ok {
		s.WriteError(w, r, errNotFound)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
