package loadgen

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"

	"gopkg.in/yaml.v3"

	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/testidp"
)

// Defaults shared by the configuration a load run needs and the load
// generator, so `sallyport bench config` and `sallyport bench login` agree
// without flags repeated on both.
const (
	// DefaultConnection is the slug of the upstream connection.
	DefaultConnection = "bench"
	// DefaultUpstreamClientID and DefaultUpstreamClientSecret are
	// Sallyport's credentials at the bench upstream. They guard nothing:
	// the upstream lives only as long as a load run.
	DefaultUpstreamClientID     = "sallyport-bench"
	DefaultUpstreamClientSecret = "sallyport-bench-upstream-secret"
	// DefaultClientID and DefaultClientSecret are the app's credentials
	// at Sallyport.
	DefaultClientID     = "bench-app"
	DefaultClientSecret = "bench-app-secret"
	// DefaultRedirectURI is the app's redirect URI. It is never fetched;
	// being loopback, Sallyport accepts it on any port.
	DefaultRedirectURI = "http://127.0.0.1/bench/callback"
)

// Setup is what the Sallyport under load must be configured with.
type Setup struct {
	// Issuer is Sallyport's issuer, like http://127.0.0.1:8080; it also
	// gives the address Sallyport listens on.
	Issuer string
	// Database is Sallyport's database URL (sqlite:… or postgres://…).
	Database string
	// UpstreamIssuer is the upstream's issuer ([UpstreamIssuer]).
	UpstreamIssuer string
	// UpstreamAlg is the upstream's signing algorithm; empty means ES256,
	// as in [UpstreamConfig].
	UpstreamAlg string
	// IDTokenAlg is the algorithm Sallyport signs the bench app's ID
	// tokens with (RS256, ES256, EdDSA); empty means Sallyport's default.
	IDTokenAlg string
	// EncryptionKey is Sallyport's key ring (32 bytes, base64); empty
	// makes a new random one.
	EncryptionKey string
}

// Settings returns Sallyport's configuration for a load run: one OIDC
// connection to the bench upstream that provisions users on first
// sign-in, the bench app as a first-party client (no consent page), and
// rate limits off, since a few client addresses make thousands of
// sign-ins a minute. Private networks are allowed because the upstream is
// on loopback.
func (s Setup) Settings() (*config.Config, error) {
	iss, err := url.Parse(s.Issuer)
	if err != nil || iss.Host == "" {
		return nil, fmt.Errorf("loadgen: issuer %q is not an absolute URL", s.Issuer)
	}
	key := s.EncryptionKey
	if key == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
		key = base64.StdEncoding.EncodeToString(b)
	}
	alg := s.UpstreamAlg
	if alg == "" {
		alg = testidp.ES256
	}
	c := config.Default()
	c.Issuer = s.Issuer
	c.Listen = iss.Host
	if s.Database != "" {
		c.Database = s.Database
	}
	c.EncryptionKey = key
	c.InsecureAllowPrivateNetworks = true
	c.RateLimits.Enabled = false
	c.Connections = []config.Connection{{
		Slug:         DefaultConnection,
		Kind:         config.KindOIDC,
		DisplayName:  "Bench upstream",
		Issuer:       s.UpstreamIssuer,
		ClientID:     DefaultUpstreamClientID,
		ClientSecret: DefaultUpstreamClientSecret,
		Scopes:       []string{"openid", "email", "profile"},
		AllowedAlgs:  []string{alg},
	}}
	c.Clients = []config.Client{{
		ID:                DefaultClientID,
		Name:              "Bench app",
		Secret:            DefaultClientSecret,
		RedirectURIs:      []string{DefaultRedirectURI},
		SkipConsent:       true,
		IDTokenSigningAlg: s.IDTokenAlg,
	}}
	c.ApplyDefaults()
	if problems := c.Validate(); len(problems) > 0 {
		return nil, fmt.Errorf("loadgen: the bench configuration is invalid:\n%w", problems)
	}
	return c, nil
}

// CallbackURL is Sallyport's callback for the bench connection, which the
// upstream must accept as a redirect URI.
func CallbackURL(issuer string) string {
	return issuer + "/callback/" + DefaultConnection
}

// WriteSettings writes c as a Sallyport configuration file.
func WriteSettings(w io.Writer, c *config.Config) error {
	var buf bytes.Buffer
	buf.WriteString("# Sallyport configuration for `sallyport bench login`: not for production\n" +
		"# (rate limits off, loopback upstreams allowed, a throwaway encryption key).\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
