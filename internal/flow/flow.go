package flow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/secret"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream"
)

// CookieName is the cookie that binds login flows to the browser that
// started them (DESIGN.md §9). The __Host- prefix makes browsers refuse it
// unless it is Secure, has Path=/ and no Domain, so a sibling subdomain
// cannot plant one.
const CookieName = "__Host-sallyport_flow"

// DefaultTTL is how long a flow may take when Config.TTL is zero.
const DefaultTTL = 10 * time.Minute

// randomBytes is the size of every secret this package draws: state, nonce,
// PKCE verifier and browser binding (DESIGN.md §3).
const randomBytes = 32

// maxStateLen bounds the state parameter we hash: ours is 43 characters.
const maxStateLen = 256

// Causes of a refused callback. Finish wraps each in an
// [outcome.InvalidState] error; they name the reason in logs and audit
// events and are never shown to the person.
var (
	// ErrMissingState: the callback carried no state parameter, or more than one.
	ErrMissingState = errors.New("flow: callback has no single state parameter")
	// ErrUnknownState: no pending flow has this state: it was never issued,
	// has expired or was already used.
	ErrUnknownState = errors.New("flow: state is unknown, expired or already used")
	// ErrWrongConnection: the flow was begun for another connection (mix-up).
	ErrWrongConnection = errors.New("flow: state belongs to another connection")
	// ErrNoBrowserBinding: the callback came without a flow cookie.
	ErrNoBrowserBinding = errors.New("flow: callback has no flow cookie")
	// ErrForeignBrowser: the callback came from a browser other than the one
	// that began the flow.
	ErrForeignBrowser = errors.New("flow: state is bound to another browser")
	// ErrIssuerMismatch: RFC 9207 iss differs from the issuer the flow was
	// sent to, is repeated, or is missing where the provider advertises it.
	ErrIssuerMismatch = errors.New("flow: iss parameter does not match the issuer the flow was sent to")
	// ErrUnsafeReturnTo: Begin was given a return_to that is not a
	// same-origin path.
	ErrUnsafeReturnTo = errors.New("flow: return_to is not a same-origin path")
)

// Config configures a Manager.
type Config struct {
	// Store keeps the flows. Required.
	Store store.Store
	// Keys seals PKCE verifiers and provider state. Required.
	Keys *secret.KeyRing
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of state, nonces, verifiers and bindings; nil
	// means crypto/rand.
	Rand io.Reader
	// TTL is how long a flow stays usable; zero means DefaultTTL.
	TTL time.Duration
	// Logger receives refusals at debug level; nil discards them.
	Logger *slog.Logger
}

// Manager begins and finishes login flows. It is safe for concurrent use
// and keeps no state of its own: any replica can finish a flow that another
// began.
type Manager struct {
	store store.Store
	keys  *secret.KeyRing
	now   func() time.Time
	rand  io.Reader
	ttl   time.Duration
	log   *slog.Logger
}

// New returns a Manager. It panics when Store or Keys is missing: that is a
// wiring mistake, not a run-time condition.
func New(cfg Config) *Manager {
	if cfg.Store == nil || cfg.Keys == nil {
		panic("flow: Config.Store and Config.Keys are required")
	}
	m := &Manager{store: cfg.Store, keys: cfg.Keys, now: cfg.Now, rand: cfg.Rand, ttl: cfg.TTL, log: cfg.Logger}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.ttl <= 0 {
		m.ttl = DefaultTTL
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m
}

// BeginParams is what a flow remembers between Begin and Finish.
type BeginParams struct {
	// Connection the browser is sent to; its callback must come back to
	// the same connection.
	Connection store.Connection
	// Issuer is the upstream issuer the browser is sent to, recorded so the
	// callback can be checked against it (mix-up defence, RFC 9207).
	Issuer string
	// RedirectURI is Sallyport's /callback/{connection} URL.
	RedirectURI string
	// UsePKCE makes a verifier and sends its S256 challenge. Set it for
	// every upstream that takes PKCE.
	UsePKCE bool
	// Intent is what the flow is for; "" means store.IntentLogin.
	Intent store.FlowIntent
	// IntentUserID is the signed-in user for link and reauth intents.
	IntentUserID string
	// ReturnTo is the same-origin path to land on afterwards, already
	// checked by the caller; Begin checks it again with SafeReturnTo.
	ReturnTo string
	// AuthzRequestID is the pending /oauth2/authorize request, if any.
	AuthzRequestID string
	// Pending, when set, is a new pending /oauth2/authorize request to
	// store in the same transaction as the flow (its ID becomes
	// AuthzRequestID): an app's sign-in that goes straight to an upstream
	// costs one write, not two.
	Pending *store.AuthzRequest
	// OrgID is the org the sign-in was routed to, if any.
	OrgID string
	// LoginHint is passed upstream as login_hint.
	LoginHint string
	// ProviderState is provider-specific data (DPoP key, PAR data) kept
	// sealed until the callback.
	ProviderState []byte
}

// Flow is a consumed login flow with its secrets opened.
type Flow struct {
	store.LoginFlow
	// PKCEVerifier is the RFC 7636 code_verifier; "" when the flow did not
	// use PKCE.
	PKCEVerifier string
	// ProviderState is BeginParams.ProviderState.
	ProviderState []byte
}

// Callback assembles what the upstream provider needs to redeem the code.
// redirectURI must be the one Begin was given.
func (f Flow) Callback(params url.Values, redirectURI string) upstream.Callback {
	return upstream.Callback{Params: params, Nonce: f.Nonce, CodeVerifier: f.PKCEVerifier, RedirectURI: redirectURI}
}

// Begin starts a flow: it stores it, sets or reuses the browser binding
// cookie on w, and returns the request to send the browser upstream with.
// Call it before writing anything else to w.
func (m *Manager) Begin(ctx context.Context, w http.ResponseWriter, r *http.Request, p BeginParams) (upstream.AuthRequest, error) {
	if p.Connection.ID == "" {
		return upstream.AuthRequest{}, errors.New("flow: begin: no connection")
	}
	if p.Intent == "" {
		p.Intent = store.IntentLogin
	}
	if (p.Intent == store.IntentLink || p.Intent == store.IntentReauth) && p.IntentUserID == "" {
		return upstream.AuthRequest{}, fmt.Errorf("flow: begin: intent %q needs the signed-in user", p.Intent)
	}
	if p.ReturnTo != "" {
		if _, ok := SafeReturnTo(p.ReturnTo); !ok {
			return upstream.AuthRequest{}, outcome.Wrap(outcome.InvalidRequest, ErrUnsafeReturnTo)
		}
	}

	state, err := m.random()
	if err != nil {
		return upstream.AuthRequest{}, err
	}
	nonce, err := m.random()
	if err != nil {
		return upstream.AuthRequest{}, err
	}
	var verifier, challenge string
	if p.UsePKCE {
		if verifier, err = m.random(); err != nil {
			return upstream.AuthRequest{}, err
		}
		challenge = s256(verifier)
	}
	binding, ok := cookieValue(r)
	if !ok {
		if binding, err = m.random(); err != nil {
			return upstream.AuthRequest{}, err
		}
	}

	now := m.now()
	idHash := store.HashToken(state)
	f := store.LoginFlow{
		IDHash:             idHash,
		ConnectionID:       p.Connection.ID,
		OrgID:              p.OrgID,
		Intent:             p.Intent,
		IntentUserID:       p.IntentUserID,
		Issuer:             p.Issuer,
		Nonce:              nonce,
		ReturnTo:           p.ReturnTo,
		AuthzRequestID:     p.AuthzRequestID,
		BrowserBindingHash: store.HashToken(binding),
		CreatedAt:          now,
		ExpiresAt:          now.Add(m.ttl),
	}
	if verifier != "" {
		if f.PKCEVerifierEnc, err = m.keys.Encrypt([]byte(verifier), aad(idHash, "pkce")); err != nil {
			return upstream.AuthRequest{}, fmt.Errorf("flow: seal verifier: %w", err)
		}
	}
	if p.ProviderState != nil {
		if f.ProviderStateEnc, err = m.keys.Encrypt(p.ProviderState, aad(idHash, "provider_state")); err != nil {
			return upstream.AuthRequest{}, fmt.Errorf("flow: seal provider state: %w", err)
		}
	}
	if p.Pending != nil {
		f.AuthzRequestID = p.Pending.ID
		err = m.store.Tx(ctx, func(q store.Queries) error {
			if err := q.CreateAuthzRequest(ctx, p.Pending); err != nil {
				return err
			}
			return q.CreateLoginFlow(ctx, &f)
		})
	} else {
		err = m.store.CreateLoginFlow(ctx, &f)
	}
	if err != nil {
		return upstream.AuthRequest{}, fmt.Errorf("flow: begin: %w", err)
	}

	// Set even when reused: the cookie's lifetime follows the newest flow.
	http.SetCookie(w, m.cookie(binding))
	return upstream.AuthRequest{
		State:         state,
		Nonce:         nonce,
		CodeChallenge: challenge,
		RedirectURI:   p.RedirectURI,
		LoginHint:     p.LoginHint,
	}, nil
}

// Finish consumes the flow named by params' state, once, and checks that it
// came back to connection from the browser that began it. Refusals are
// [outcome.InvalidState] errors; a failing store or key ring is returned as
// a plain error (an internal failure). The flow is spent even when a check
// after the consumption fails.
func (m *Manager) Finish(ctx context.Context, r *http.Request, params url.Values, connection store.Connection) (Flow, error) {
	states := params["state"]
	if len(states) != 1 || states[0] == "" || len(states[0]) > maxStateLen {
		return Flow{}, m.refuse(ErrMissingState, connection)
	}
	rec, err := m.store.ConsumeLoginFlow(ctx, store.HashToken(states[0]), m.now())
	if errors.Is(err, store.ErrNotFound) {
		return Flow{}, m.refuse(ErrUnknownState, connection)
	}
	if err != nil {
		return Flow{}, fmt.Errorf("flow: finish: %w", err)
	}
	if rec.ConnectionID != connection.ID {
		return Flow{}, m.refuse(ErrWrongConnection, connection)
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return Flow{}, m.refuse(ErrNoBrowserBinding, connection)
	}
	if subtle.ConstantTimeCompare(store.HashToken(c.Value), rec.BrowserBindingHash) != 1 {
		return Flow{}, m.refuse(ErrForeignBrowser, connection)
	}

	f := Flow{LoginFlow: rec}
	if rec.PKCEVerifierEnc != nil {
		v, err := m.keys.Decrypt(rec.PKCEVerifierEnc, aad(rec.IDHash, "pkce"))
		if err != nil {
			return Flow{}, fmt.Errorf("flow: open verifier: %w", err)
		}
		f.PKCEVerifier = string(v)
	}
	if rec.ProviderStateEnc != nil {
		if f.ProviderState, err = m.keys.Decrypt(rec.ProviderStateEnc, aad(rec.IDHash, "provider_state")); err != nil {
			return Flow{}, fmt.Errorf("flow: open provider state: %w", err)
		}
	}
	return f, nil
}

// CheckIssParam applies RFC 9207 to a callback: when iss is present it must
// equal expectedIssuer byte for byte, and when the provider advertises
// authorization_response_iss_parameter_supported it must be present. A
// refusal is an [outcome.InvalidState] error wrapping [ErrIssuerMismatch]:
// the response may come from another provider than the one this flow
// trusted (a mix-up attack), so the code must not be redeemed.
func CheckIssParam(params url.Values, expectedIssuer string, advertised bool) error {
	iss, present := params["iss"]
	switch {
	case !present && !advertised:
		return nil
	case !present:
		return outcome.Wrap(outcome.InvalidState, fmt.Errorf("%w: missing, but the provider advertises it", ErrIssuerMismatch))
	case len(iss) != 1:
		return outcome.Wrap(outcome.InvalidState, fmt.Errorf("%w: given %d times", ErrIssuerMismatch, len(iss)))
	case expectedIssuer == "" || iss[0] != expectedIssuer:
		return outcome.Wrap(outcome.InvalidState, fmt.Errorf("%w: got %q, want %q", ErrIssuerMismatch, iss[0], expectedIssuer))
	}
	return nil
}

func (m *Manager) refuse(cause error, connection store.Connection) error {
	m.log.Debug("login flow refused", "connection", connection.Slug, "reason", cause.Error())
	return outcome.Wrap(outcome.InvalidState, cause)
}

// random draws 32 bytes and encodes them base64url without padding.
func (m *Manager) random() (string, error) {
	var b [randomBytes]byte
	if _, err := io.ReadFull(m.rand, b[:]); err != nil {
		return "", fmt.Errorf("flow: read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func (m *Manager) cookie(value string) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   int(m.ttl / time.Second),
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// cookieValue returns the browser's binding when it is one we could have
// made: exactly 32 bytes in unpadded base64url. Anything else is replaced.
func cookieValue(r *http.Request) (string, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return "", false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(c.Value)
	if err != nil || len(b) != randomBytes {
		return "", false
	}
	return c.Value, true
}

// s256 is the RFC 7636 S256 code challenge of a verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// aad binds a sealed field to its flow and column, so a ciphertext copied
// to another flow or column does not open.
func aad(idHash []byte, field string) []byte {
	return []byte("login_flow/" + hex.EncodeToString(idHash) + "/" + field)
}
