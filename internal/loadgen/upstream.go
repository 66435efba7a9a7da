package loadgen

import (
	"errors"
	"fmt"
	"net"

	"github.com/sallyport/sallyport/internal/testidp"
)

// UpstreamConfig configures [StartUpstream].
type UpstreamConfig struct {
	// Listener is where the upstream serves; its address fixes the
	// upstream's issuer (see [UpstreamIssuer]), which Sallyport's
	// configuration names.
	Listener net.Listener
	// ClientID and ClientSecret are Sallyport's credentials at the
	// upstream.
	ClientID, ClientSecret string
	// CallbackURL is Sallyport's callback for the connection,
	// {issuer}/callback/{connection}.
	CallbackURL string
	// Users is how many people the upstream knows (see [UserHint]); at
	// least one.
	Users int
	// Alg is the upstream's ID-token signing algorithm, testidp.RS256 or
	// testidp.ES256; empty means ES256, whose signing costs the shared
	// CPU far less than RSA's, so more of it is left to Sallyport.
	Alg string
}

// Upstream is the upstream identity provider of a load run: testidp's
// generic OIDC persona, approving every authorization request at once.
type Upstream struct {
	idp *testidp.IdP
}

// StartUpstream starts the upstream on cfg.Listener. It takes ownership of
// the listener.
func StartUpstream(cfg UpstreamConfig) (*Upstream, error) {
	if cfg.Listener == nil || cfg.ClientID == "" || cfg.CallbackURL == "" || cfg.Users < 1 {
		if cfg.Listener != nil {
			cfg.Listener.Close()
		}
		return nil, errors.New("loadgen: the upstream needs a listener, a client id, a callback URL and at least one user")
	}
	alg := cfg.Alg
	if alg == "" {
		alg = testidp.ES256
	}
	addr := cfg.Listener.Addr().String()
	idp, err := testidp.Start(testidp.Config{Listener: cfg.Listener})
	if err != nil {
		return nil, fmt.Errorf("loadgen: upstream: %w", err)
	}
	u := &Upstream{idp: idp}
	if err := u.setUp(cfg, alg, addr); err != nil {
		idp.Close()
		return nil, err
	}
	return u, nil
}

func (u *Upstream) setUp(cfg UpstreamConfig, alg, addr string) error {
	// The issuer is computed, not asked for, because Sallyport's
	// configuration is written before the upstream runs; a mismatch
	// would only show as every sign-in failing.
	if got, want := u.idp.Issuer(testidp.Generic), UpstreamIssuer(addr); got != want {
		return fmt.Errorf("loadgen: the upstream's issuer is %s, not %s as the configuration says", got, want)
	}
	if err := u.idp.UseAlg(testidp.Generic, alg); err != nil {
		return fmt.Errorf("loadgen: upstream: %w", err)
	}
	if err := u.idp.AddClient(testidp.Generic, testidp.Client{ID: cfg.ClientID, Secret: cfg.ClientSecret, RedirectURIs: []string{cfg.CallbackURL}}); err != nil {
		return fmt.Errorf("loadgen: upstream: %w", err)
	}
	for i := range cfg.Users {
		if err := u.idp.AddUser(testidp.Generic, testidp.User{
			Subject:       fmt.Sprintf("bench-%d", i),
			Email:         UserHint(i),
			EmailVerified: true,
			Name:          fmt.Sprintf("Bench User %d", i),
		}); err != nil {
			return fmt.Errorf("loadgen: upstream: %w", err)
		}
	}
	return nil
}

// Issuer returns the upstream's issuer.
func (u *Upstream) Issuer() string { return u.idp.Issuer(testidp.Generic) }

// Requests returns how many requests the upstream's endpoint answered
// (testidp.EndpointAuthorize, EndpointToken, …): a run that counts sign-ins
// but no upstream authorizations did not go through the upstream.
func (u *Upstream) Requests(endpoint string) int { return u.idp.Requests(testidp.Generic, endpoint) }

// Close stops the upstream.
func (u *Upstream) Close() error { return u.idp.Close() }

// UpstreamIssuer is the issuer of an upstream listening on addr
// (host:port).
func UpstreamIssuer(addr string) string {
	return "http://" + addr + "/" + testidp.Generic
}

// UserHint is the login_hint (the email) of the upstream's i-th user.
func UserHint(i int) string { return fmt.Sprintf("bench-%d@bench.test", i) }
