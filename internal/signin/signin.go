package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/flow"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/ratelimit"
	"github.com/sallyport/sallyport/internal/reconcile"
	"github.com/sallyport/sallyport/internal/secret"
	"github.com/sallyport/sallyport/internal/session"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/web"
)

// Config wires a Service.
type Config struct {
	Store    store.Store
	Keys     *secret.KeyRing
	Flows    *flow.Manager
	Sessions *session.Manager
	Audit    *audit.Recorder
	// Limiter limits starts and callbacks per client IP; nil means none
	// (rate_limits.enabled: false).
	Limiter ratelimit.Limiter
	// Kinds maps a connection kind to its provider constructor.
	Kinds map[string]NewProvider
	// HTTPClient is netguard's client, handed to providers.
	HTTPClient *http.Client
	// Issuer is Sallyport's public base URL; callbacks are Issuer +
	// /callback/{connection}.
	Issuer *url.URL
	// Registry receives the sign-in metrics; nil skips them.
	Registry prometheus.Registerer
	// Authorizations finishes the apps' pending authorization requests a
	// sign-in was started for (the OpenID Provider); nil when the server
	// has none.
	Authorizations Authorizations
	Now            func() time.Time
	NewID          func() string
	Logger         *slog.Logger
}

// Authorizations is what the sign-in service needs from the OpenID
// Provider (internal/op) when an app's authorization request waits for a
// sign-in.
type Authorizations interface {
	// Pending returns what the pending request id allows: the login_hint
	// to pass upstream and the connection slugs the app may use (empty:
	// all). A missing or expired request is an outcome error.
	Pending(ctx context.Context, id string) (loginHint string, allowed []string, err error)
	// Complete runs inside the sign-in's transaction, right after the
	// session starts: it issues the app its code when nothing else is
	// needed and returns the app's redirect, or nil to send the browser to
	// PendingPath instead.
	Complete(ctx context.Context, q store.Queries, id string, sess store.Session, connectionSlug string) (*url.URL, error)
	// PendingPath is the same-origin path where the request continues.
	PendingPath(id string) string
}

// Service signs people in through upstream connections. It implements
// web.SignIn.
type Service struct {
	store     store.Store
	flows     *flow.Manager
	sessions  *session.Manager
	audit     *audit.Recorder
	limiter   ratelimit.Limiter
	providers *registry
	// connections keeps the global connections for ConnectionsTTL.
	connections connectionCache
	authz       Authorizations
	issuer      string
	now         func() time.Time
	newID       func() string
	log         *slog.Logger

	attempts  *prometheus.CounterVec
	callbacks *prometheus.HistogramVec
}

var _ web.SignIn = (*Service)(nil)

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.Flows == nil || cfg.Sessions == nil || cfg.Audit == nil || cfg.Issuer == nil {
		return nil, errors.New("signin: Store, Keys, Flows, Sessions, Audit and Issuer are required")
	}
	s := &Service{
		store: cfg.Store, flows: cfg.Flows, sessions: cfg.Sessions, audit: cfg.Audit, limiter: cfg.Limiter, authz: cfg.Authorizations,
		issuer: strings.TrimSuffix(cfg.Issuer.String(), "/"), now: cfg.Now, newID: cfg.NewID, log: cfg.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.providers = &registry{kinds: cfg.Kinds, keys: cfg.Keys, client: cfg.HTTPClient, now: s.now, log: s.log, entries: map[string]*providerEntry{}}
	s.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sallyport_signin_attempts_total",
		Help: "Sign-in callbacks by connection and outcome.",
	}, []string{"connection", "outcome"})
	s.callbacks = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sallyport_signin_callback_duration_seconds",
		Help:    "Time to handle an upstream callback (code exchange, verification, reconciliation, session), by connection.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	}, []string{"connection"})
	if cfg.Registry != nil {
		for _, c := range []prometheus.Collector{s.attempts, s.callbacks} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("signin: metrics: %w", err)
			}
		}
	}
	return s, nil
}

// UseAuthorizations connects the OpenID Provider after both are built
// (each needs the other). Call it before the server takes requests.
func (s *Service) UseAuthorizations(a Authorizations) { s.authz = a }

// callbackURL is the redirect_uri registered at the provider for a
// connection: one callback path per connection (mix-up defence).
func (s *Service) callbackURL(slug string) string {
	return s.issuer + "/callback/" + url.PathEscape(slug)
}

// CallbackURL tells operators the exact URL to register at a provider.
func (s *Service) CallbackURL(slug string) string { return s.callbackURL(slug) }

// LoginOptions lists the active global connections whose kind this build
// supports; for an app's pending request, only those the app may use.
func (s *Service) LoginOptions(ctx context.Context, requestID string) ([]web.LoginOption, error) {
	var allowed []string
	if requestID != "" {
		var err error
		if _, allowed, err = s.pending(ctx, requestID); err != nil {
			return nil, err
		}
	}
	conns, err := s.globalConnections(ctx)
	if err != nil {
		return nil, err
	}
	var opts []web.LoginOption
	for _, c := range conns {
		if c.Status == store.ConnectionActive && s.providers.supports(c.Kind) && (len(allowed) == 0 || slices.Contains(allowed, c.Slug)) {
			opts = append(opts, web.LoginOption{Slug: c.Slug, Kind: c.Kind, DisplayName: c.DisplayName})
		}
	}
	return opts, nil
}

// ConnectionSlugs lists the slugs of the connections /login offers.
func (s *Service) ConnectionSlugs(ctx context.Context) ([]string, error) {
	opts, err := s.LoginOptions(ctx, "")
	if err != nil {
		return nil, err
	}
	slugs := make([]string, len(opts))
	for i, o := range opts {
		slugs[i] = o.Slug
	}
	return slugs, nil
}

// pending asks the OpenID Provider about a pending request.
func (s *Service) pending(ctx context.Context, requestID string) (string, []string, error) {
	if s.authz == nil {
		return "", nil, outcome.New(outcome.InvalidGrant, "This sign-in request has expired or was already completed. Go back to the app and sign in again.")
	}
	return s.authz.Pending(ctx, requestID)
}

// connection finds an active global connection by slug, as read within
// ConnectionsTTL. A missing, inactive or org connection answers the same:
// not found (org connections are never among the global ones).
func (s *Service) connection(ctx context.Context, slug string) (store.Connection, error) {
	c, found, err := s.globalConnection(ctx, slug)
	if err != nil {
		return c, err
	}
	if !found || c.Status != store.ConnectionActive {
		return c, outcome.New(outcome.NotFound, "This sign-in method does not exist or is turned off. Go back and choose another.")
	}
	return c, nil
}

// limit applies the per-IP limit for one kind of request.
func (s *Service) limit(ctx context.Context, what, ip string) error {
	if s.limiter == nil {
		return nil
	}
	d, err := s.limiter.Allow(ctx, what+":ip:"+ip)
	if err != nil {
		return err
	}
	return ratelimit.Refuse(d)
}

// Begin starts a login flow and returns the upstream URL. requestID names
// an app's pending authorization request the sign-in is for, if any: the
// connection must be one the app may use, and after the callback the
// request continues. A refusal is audited and returned as an outcome
// error.
func (s *Service) Begin(w http.ResponseWriter, r *http.Request, slug, returnTo, requestID string) (string, error) {
	p := beginParams{slug: slug, returnTo: returnTo, requestID: requestID}
	if requestID != "" {
		hint, allowed, err := s.pending(r.Context(), requestID)
		if err != nil {
			s.refused(r.Context(), r, "login.begin", err, store.Connection{}, slug)
			return "", err
		}
		if len(allowed) > 0 && !slices.Contains(allowed, slug) {
			err := outcome.New(outcome.NotAllowed, "The app you are signing in to does not accept this sign-in method. Go back and choose another.")
			s.refused(r.Context(), r, "login.begin", err, store.Connection{}, slug)
			return "", err
		}
		p.loginHint, p.returnTo = hint, s.authz.PendingPath(requestID)
	}
	return s.begin(w, r, p)
}

// BeginForRequest starts a login flow for an app's new pending
// authorization request, storing both in one transaction, and returns the
// upstream URL. The OpenID Provider calls it when it already knows the
// connection (connection=, or the app's only one).
func (s *Service) BeginForRequest(w http.ResponseWriter, r *http.Request, slug string, pending *store.AuthzRequest, loginHint, prompt string) (string, error) {
	if s.authz == nil {
		return "", errors.New("signin: BeginForRequest without Authorizations")
	}
	return s.begin(w, r, beginParams{slug: slug, returnTo: s.authz.PendingPath(pending.ID), pending: pending, loginHint: loginHint, prompt: prompt})
}

// beginParams is what begin needs for either kind of start.
type beginParams struct {
	slug, returnTo    string
	requestID         string
	pending           *store.AuthzRequest
	loginHint, prompt string
}

func (s *Service) begin(w http.ResponseWriter, r *http.Request, p beginParams) (string, error) {
	ctx := r.Context()
	var c store.Connection
	target, err := func() (string, error) {
		if err := s.limit(ctx, "login", s.audit.ClientIP(r)); err != nil {
			return "", err
		}
		var err error
		if c, err = s.connection(ctx, p.slug); err != nil {
			return "", err
		}
		e, err := s.providers.get(ctx, c)
		if err != nil {
			return "", outcome.Wrap(outcome.CodeExchangeFailed, err)
		}
		var issuer string
		if ir, ok := e.provider.(upstream.IssuerReporter); ok {
			issuer = ir.Issuer()
		}
		usePKCE := true
		if pu, ok := e.provider.(upstream.PKCEUser); ok {
			usePKCE = pu.UsesPKCE()
		}
		req, err := s.flows.Begin(ctx, w, r, flow.BeginParams{
			Connection: c, Issuer: issuer, RedirectURI: s.callbackURL(c.Slug), UsePKCE: usePKCE, ReturnTo: p.returnTo,
			AuthzRequestID: p.requestID, Pending: p.pending, LoginHint: p.loginHint,
		})
		if err != nil {
			return "", err
		}
		req.Prompt = p.prompt
		return e.provider.AuthCodeURL(ctx, req)
	}()
	if err != nil {
		s.refused(ctx, r, "login.begin", err, c, p.slug)
		return "", err
	}
	return target, nil
}

// Callback finishes a login flow: the state is consumed and checked, the
// code redeemed and the identity verified by the provider, then
// reconciliation decides, and its writes, the session and the audit event
// commit in one transaction. It returns the path to land on.
func (s *Service) Callback(w http.ResponseWriter, r *http.Request, slug string) (web.Landing, error) {
	ctx := r.Context()
	start := s.now()
	var c store.Connection
	landing, code, err := s.callback(ctx, w, r, slug, &c)
	if err != nil {
		code = outcome.CodeOf(err)
		s.refused(ctx, r, "login.callback", err, c, slug)
	}
	label := "unknown" // an unknown slug must not mint a metrics series
	if c.ID != "" {
		label = c.Slug
	}
	s.attempts.WithLabelValues(label, string(code)).Inc()
	s.callbacks.WithLabelValues(label).Observe(s.now().Sub(start).Seconds())
	return landing, err
}

func (s *Service) callback(ctx context.Context, w http.ResponseWriter, r *http.Request, slug string, c *store.Connection) (web.Landing, outcome.Code, error) {
	ip := s.audit.ClientIP(r)
	if err := s.limit(ctx, "callback", ip); err != nil {
		return web.Landing{}, "", err
	}
	var err error
	if *c, err = s.connection(ctx, slug); err != nil {
		return web.Landing{}, "", err
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return web.Landing{}, "", outcome.Wrap(outcome.InvalidRequest, err)
		}
		params = r.PostForm
	}
	// The state is consumed before anything else can use it; a refused
	// flow is burnt.
	f, err := s.flows.Finish(ctx, r, params, *c)
	if err != nil {
		return web.Landing{}, "", err
	}
	e, err := s.providers.get(ctx, *c)
	if err != nil {
		return web.Landing{}, "", outcome.Wrap(outcome.CodeExchangeFailed, err)
	}
	id, err := e.provider.Exchange(ctx, f.Callback(params, s.callbackURL(c.Slug)))
	if err != nil {
		return web.Landing{}, "", err
	}
	if id.Email != "" {
		if id.Email, err = store.NormalizeEmail(id.Email); err != nil {
			id.Email, id.EmailVerified = "", false // unusable: never matched, never stored
		}
	}

	var decision reconcile.Decision
	var appRedirect *url.URL
	apply := func(q store.Queries) error {
		var err error
		appRedirect = nil
		decision, err = s.decide(ctx, q, *c, e.policy, f, id)
		if err != nil {
			return err
		}
		if !decision.Outcome.Success() {
			return &outcome.Error{Code: decision.Outcome, Err: errors.New(decision.Reason)}
		}
		identityID, err := applyDecision(ctx, q, decision, s.now())
		if err != nil {
			return err
		}
		sess, err := s.sessions.Start(ctx, q, w, r, session.StartParams{
			UserID: decision.UserID, ConnectionID: c.ID, IdentityID: identityID, AMR: amrOf(id),
			IP: ip, UserAgent: r.UserAgent(),
		})
		if err != nil {
			return outcome.Wrap(outcome.SessionFailed, err)
		}
		if f.AuthzRequestID != "" && s.authz != nil {
			// The app's request completes in the same transaction, so
			// the browser goes straight back to the app.
			if appRedirect, err = s.authz.Complete(ctx, q, f.AuthzRequestID, sess, c.Slug); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, q, audit.Event{
			Type: "login.callback", Outcome: decision.Outcome, ActorID: decision.UserID, UserID: decision.UserID,
			ConnectionID: c.ID, IP: ip, UserAgent: r.UserAgent(), Detail: map[string]any{"reason": decision.Reason},
		})
	}
	err = s.store.Tx(ctx, apply)
	if errors.Is(err, store.ErrConflict) {
		// Two first sign-ins of one subject raced (several replicas on
		// PostgreSQL): the loser decides again and finds the winner's
		// identity.
		err = s.store.Tx(ctx, apply)
	}
	if err != nil {
		return web.Landing{}, "", err
	}
	returnTo := f.ReturnTo
	if returnTo == "" {
		returnTo = "/account"
	}
	return web.Landing{Path: returnTo, App: appRedirect}, decision.Outcome, nil
}

// decide gathers what the store knows about this identity and asks
// reconcile. It reads inside the transaction that will apply the decision.
func (s *Service) decide(ctx context.Context, q store.Queries, c store.Connection, policy reconcile.Policy, f flow.Flow, id upstream.Identity) (reconcile.Decision, error) {
	in := reconcile.Input{Now: s.now().UTC().Truncate(time.Millisecond), NewID: s.newID, Connection: c, Policy: policy, Intent: f.Intent, Identity: id}
	// The email match is read BEFORE the identity. On PostgreSQL (read
	// committed) every statement sees the latest commits, and a concurrent
	// first sign-in of this subject commits its user and identity together:
	// reading the identity first could see "no identity" just before that
	// commit and "a user with this email" just after, and refuse with
	// link_confirmation_required. In this order a late commit is seen by
	// the identity read (existing_identity), or not at all (our insert then
	// conflicts and the callback decides again).
	if id.Email != "" && id.EmailVerified {
		if u, err := q.GetUserByEmail(ctx, id.Email); err == nil {
			in.EmailUser = &u
		} else if !errors.Is(err, store.ErrNotFound) {
			return reconcile.Decision{}, err
		}
	}
	if existing, err := q.GetIdentityBySubject(ctx, c.ID, id.Subject); err == nil {
		owner, err := q.GetUser(ctx, existing.UserID)
		if err != nil {
			return reconcile.Decision{}, err
		}
		in.Existing, in.ExistingOwner = &existing, &owner
	} else if !errors.Is(err, store.ErrNotFound) {
		return reconcile.Decision{}, err
	}
	if f.IntentUserID != "" {
		u, err := q.GetUser(ctx, f.IntentUserID)
		if err != nil {
			return reconcile.Decision{}, err
		}
		in.IntentUser = &u
	}
	decider := in.ExistingOwner
	if decider == nil {
		decider = in.EmailUser
	}
	if decider != nil {
		var err error
		if in.Assignments, err = q.ListUserAssignments(ctx, decider.ID); err != nil {
			return reconcile.Decision{}, err
		}
	}
	return reconcile.Decide(in), nil
}

// applyDecision makes a decision's writes and returns the identity the
// sign-in used.
func applyDecision(ctx context.Context, q store.Queries, d reconcile.Decision, now time.Time) (string, error) {
	if d.CreateUser != nil {
		if err := q.CreateUser(ctx, d.CreateUser); err != nil {
			return "", err
		}
	}
	if d.UpdateUser != nil {
		if err := q.UpdateUser(ctx, d.UpdateUser); err != nil {
			return "", err
		}
	}
	if d.CreateMembership != nil {
		if err := q.PutMembership(ctx, d.CreateMembership); err != nil {
			return "", err
		}
	}
	if d.ConsumeInvitationID != "" {
		if _, err := q.ConsumeInvitation(ctx, d.ConsumeInvitationID, now); err != nil {
			return "", err
		}
	}
	switch {
	case d.CreateIdentity != nil:
		return d.CreateIdentity.ID, q.CreateIdentity(ctx, d.CreateIdentity)
	case d.UpdateIdentity != nil:
		return d.UpdateIdentity.ID, q.UpdateIdentityLogin(ctx, d.UpdateIdentity)
	}
	return "", errors.New("signin: a successful decision names no identity")
}

// amrOf passes the upstream's amr claim on (RFC 8176 values), when it sent
// one.
func amrOf(id upstream.Identity) []string {
	raw, _ := id.Claims["amr"].([]any)
	var amr []string
	for _, v := range raw {
		if s, ok := v.(string); ok && len(amr) < 8 {
			amr = append(amr, s)
		}
	}
	return amr
}

// refused writes the audit event of a refusal, in its own transaction
// (nothing else was written), and logs our own failures.
func (s *Service) refused(ctx context.Context, r *http.Request, typ string, err error, c store.Connection, slug string) {
	oe := outcome.From(err)
	detail := map[string]any{"connection": audit.Clip(slug, 64)}
	if oe.Err != nil {
		detail["reason"] = audit.Clip(oe.Err.Error(), 300)
	}
	if oe.Code == outcome.Internal || oe.Code == outcome.SessionFailed {
		s.log.Error("sign-in failed", "type", typ, "connection", c.Slug, "err", err)
	}
	werr := s.audit.RecordAlone(ctx, s.store, audit.Event{Type: typ, Outcome: oe.Code, ConnectionID: c.ID, IP: s.audit.ClientIP(r), UserAgent: r.UserAgent(), Detail: detail})
	if werr != nil {
		s.log.Error("writing the audit event of a refusal failed", "type", typ, "outcome", oe.Code, "err", werr)
	}
}

// Account returns who is signed in.
func (s *Service) Account(r *http.Request) (web.Account, error) {
	ctx := r.Context()
	sess, err := s.sessions.Current(r)
	if errors.Is(err, session.ErrNoSession) {
		return web.Account{}, web.ErrSignedOut
	}
	if err != nil {
		return web.Account{}, err
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Status != store.UserActive) {
		return web.Account{}, web.ErrSignedOut
	}
	if err != nil {
		return web.Account{}, err
	}
	ids, err := s.store.ListUserIdentities(ctx, u.ID)
	if err != nil {
		return web.Account{}, err
	}
	conns, err := s.store.ListAllConnections(ctx)
	if err != nil {
		return web.Account{}, err
	}
	byID := make(map[string]store.Connection, len(conns))
	for _, c := range conns {
		byID[c.ID] = c
	}
	acct := web.Account{User: u, SignedInAt: sess.CreatedAt, Via: byID[sess.ConnectionID].DisplayName}
	for _, i := range ids {
		c := byID[i.ConnectionID]
		acct.Identities = append(acct.Identities, web.LinkedIdentity{
			ConnectionName: c.DisplayName, Kind: c.Kind, Email: i.Email, LinkedAt: i.LinkedAt, LastLoginAt: i.LastLoginAt,
		})
	}
	return acct, nil
}

// Logout ends the browser's session and audits it.
func (s *Service) Logout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	sess, err := s.sessions.Current(r)
	if errors.Is(err, session.ErrNoSession) {
		return nil // already signed out: the page says so either way
	}
	if err != nil {
		return err
	}
	if err := s.sessions.End(ctx, w, r); err != nil {
		return err
	}
	return s.store.Tx(ctx, func(q store.Queries) error {
		return s.audit.Record(ctx, q, audit.Event{Type: "session.logout", Outcome: outcome.SignedOut, ActorID: sess.UserID, UserID: sess.UserID,
			ConnectionID: sess.ConnectionID, IP: s.audit.ClientIP(r), UserAgent: r.UserAgent()})
	})
}
