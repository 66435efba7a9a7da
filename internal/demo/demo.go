package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/sallyport/sallyport"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/testidp"
	"github.com/sallyport/sallyport/internal/web"
)

// The addresses `sallyport demo` serves on.
const (
	DefaultSallyportAddr = "127.0.0.1:8080"
	DefaultAppAddr       = "127.0.0.1:8081"
	DefaultIdPAddr       = "127.0.0.1:8082"
)

// Names the demo gives its parts.
const (
	// ConnectionSlug is the demo identity provider's connection in
	// Sallyport; its callback is /callback/demo.
	ConnectionSlug = "demo"
	// ConnectionName is the connection's button on Sallyport's sign-in page.
	ConnectionName = "Demo IdP"
	// AppClientID is the demo app's client_id at Sallyport.
	AppClientID = "demo-app"
	// upstreamClientID is Sallyport's client_id at the demo identity provider.
	upstreamClientID = "sallyport"
)

// Person is a demo person at the demo identity provider.
type Person struct {
	Subject       string
	Name          string
	Email         string
	EmailVerified bool
	// Note says what signing in as this person shows, if anything special.
	Note string
}

// People are the demo people, in the order the demo identity provider
// lists them.
var People = []Person{
	{Subject: "ada", Name: "Ada Lovelace", Email: "ada@acme.test", EmailVerified: true},
	{Subject: "grace", Name: "Grace Hopper", Email: "grace@example.com", EmailVerified: true},
	{Subject: "alan", Name: "Alan Turing", Email: "alan@example.com", EmailVerified: false,
		Note: "the provider does not vouch for this email, so Sallyport refuses and says why"},
}

// Config configures Start. The zero value is what `sallyport demo` runs.
type Config struct {
	// SallyportAddr, AppAddr and IdPAddr are where Sallyport, the demo app
	// and the demo identity provider listen; empty means the Default…Addr
	// constants, and a port of 0 picks a free one (tests).
	SallyportAddr, AppAddr, IdPAddr string
	// DataDir holds the SQLite database. Empty means a new temporary
	// directory, removed by Shutdown, so every run starts from nothing.
	DataDir string
	// Logger receives the logs of all three parts; nil discards them.
	Logger *slog.Logger
	// AskConsent registers the demo app as a third-party app: Sallyport
	// asks the person to allow it before its first sign-in.
	AskConsent bool
}

// Demo is a running demo: Sallyport, the demo identity provider and the
// demo app, each on its own loopback port.
type Demo struct {
	log          *slog.Logger
	issuer       string
	appURL       string
	idp          *testidp.IdP
	srv          *sallyport.Server
	servers      []*http.Server
	serveErr     chan error
	dataDir      string
	removeData   bool
	clientSecret string
	askConsent   bool
}

// Start starts the demo and returns once all three parts are listening.
func Start(ctx context.Context, cfg Config) (_ *Demo, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Demo{log: log, serveErr: make(chan error, 2), askConsent: cfg.AskConsent}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()

	// Listen first: the issuer and the app's URL carry the ports, and a
	// port in use is the most likely failure, best reported before
	// anything else starts.
	listen := func(addr, def, what string) (net.Listener, error) {
		if addr == "" {
			addr = def
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("demo: %s cannot listen on %s (is another demo or Sallyport running?): %w", what, addr, err)
		}
		closers = append(closers, ln.Close)
		return ln, nil
	}
	spLn, err := listen(cfg.SallyportAddr, DefaultSallyportAddr, "Sallyport")
	if err != nil {
		return nil, err
	}
	appLn, err := listen(cfg.AppAddr, DefaultAppAddr, "the demo app")
	if err != nil {
		return nil, err
	}
	idpLn, err := listen(cfg.IdPAddr, DefaultIdPAddr, "the demo identity provider")
	if err != nil {
		return nil, err
	}
	d.issuer = "http://" + spLn.Addr().String()
	d.appURL = "http://" + appLn.Addr().String()

	// The demo identity provider, asking which demo person signs in.
	d.idp, err = testidp.Start(testidp.Config{Listener: idpLn, Interactive: true, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	closers = append(closers, d.idp.Close)
	upstreamSecret := randomSecret()
	if err := d.idp.AddClient(testidp.Generic, testidp.Client{ID: upstreamClientID, Secret: upstreamSecret,
		RedirectURIs: []string{d.issuer + "/callback/" + ConnectionSlug}}); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	for _, p := range People {
		if err := d.idp.AddUser(testidp.Generic, testidp.User{Subject: p.Subject, Name: p.Name, Email: p.Email, EmailVerified: p.EmailVerified}); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}

	// Sallyport, on a database nobody else uses.
	d.dataDir = cfg.DataDir
	if d.dataDir == "" {
		if d.dataDir, err = os.MkdirTemp("", "sallyport-demo-"); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		d.removeData = true
		dir := d.dataDir
		closers = append(closers, func() error { return os.RemoveAll(dir) })
	} else if err := os.MkdirAll(d.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d.clientSecret = randomSecret()
	settings := d.settings(upstreamSecret)
	d.srv, err = sallyport.New(ctx, sallyport.Config{Settings: settings, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	closers = append(closers, d.srv.Close)

	app := newApp(appConfig{Issuer: d.issuer, ClientID: AppClientID, ClientSecret: d.clientSecret, URL: d.appURL, Logger: log})
	d.serve(spLn, web.NewHTTPServer(spLn.Addr().String(), d.srv.Handler(), log))
	d.serve(appLn, web.NewHTTPServer(appLn.Addr().String(), app, log))
	return d, nil
}

// settings are Sallyport's settings for the demo: the demo identity
// provider as a social connection and the demo app as a client.
func (d *Demo) settings(upstreamSecret string) *sallyport.Settings {
	s := sallyport.DefaultSettings()
	s.Issuer = d.issuer
	s.Listen = d.issuer[len("http://"):]
	s.Database = "sqlite:" + filepath.Join(d.dataDir, "sallyport.db")
	s.EncryptionKey = randomKey()
	// The demo identity provider is on loopback, which Sallyport refuses
	// to fetch discovery and keys from unless told otherwise.
	s.InsecureAllowPrivateNetworks = true
	autoProvision := true
	s.Connections = []config.Connection{{
		Slug:          ConnectionSlug,
		Kind:          config.KindOIDC,
		DisplayName:   ConnectionName,
		Issuer:        d.idp.Issuer(testidp.Generic),
		ClientID:      upstreamClientID,
		ClientSecret:  upstreamSecret,
		AutoProvision: &autoProvision,
	}}
	s.Clients = []config.Client{{
		ID:                     AppClientID,
		Name:                   "Demo app",
		Secret:                 d.clientSecret,
		RedirectURIs:           []string{d.appURL + "/callback"},
		PostLogoutRedirectURIs: []string{d.appURL + "/"},
		SkipConsent:            !d.askConsent,
	}}
	return s
}

// serve serves hs on ln until Shutdown.
func (d *Demo) serve(ln net.Listener, hs *http.Server) {
	d.servers = append(d.servers, hs)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("demo: serve", "addr", ln.Addr().String(), "err", err)
			d.serveErr <- err
		}
	}()
}

// Failed receives an error if a server stops serving before Shutdown.
func (d *Demo) Failed() <-chan error { return d.serveErr }

// AppURL is the demo app's base URL, like http://127.0.0.1:8081.
func (d *Demo) AppURL() string { return d.appURL }

// Issuer is Sallyport's issuer, like http://127.0.0.1:8080.
func (d *Demo) Issuer() string { return d.issuer }

// IdPURL is the demo identity provider's issuer.
func (d *Demo) IdPURL() string { return d.idp.Issuer(testidp.Generic) }

// ClientSecret is the demo app's client secret, made at start.
func (d *Demo) ClientSecret() string { return d.clientSecret }

// DataDir is where the demo's database lives.
func (d *Demo) DataDir() string { return d.dataDir }

// WriteIntro prints what to open, who to sign in as, and how to stop.
func (d *Demo) WriteIntro(w io.Writer) {
	writeIntro(w, intro{AppURL: d.appURL, Issuer: d.issuer, IdPURL: d.IdPURL(),
		ClientSecret: d.clientSecret, DataDir: d.dataDir, TempData: d.removeData})
}

// intro is what WriteIntro prints about this run.
type intro struct {
	AppURL, Issuer, IdPURL string
	ClientSecret           string
	DataDir                string
	TempData               bool
}

func writeIntro(w io.Writer, in intro) {
	fmt.Fprintf(w, "Sallyport demo: everything runs on this machine; no accounts anywhere.\n\n")
	fmt.Fprintf(w, "Open the demo app and press \"Sign in with Sallyport\":\n\n    %s/\n\n", in.AppURL)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  Sallyport\t%s/\tthe broker; sign-in page /login, your account /account\n", in.Issuer)
	fmt.Fprintf(tw, "  Demo identity provider\t%s\tstands in for Google, Microsoft or a company's provider\n", in.IdPURL)
	fmt.Fprintf(tw, "  Demo app\t%s/\tclient_id %s, client_secret %s\n", in.AppURL, AppClientID, in.ClientSecret)
	tw.Flush()
	fmt.Fprintf(w, "\nDemo people (pick one on the demo identity provider's page; no password):\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range People {
		note := ""
		if p.Note != "" {
			note = "\t" + p.Note
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", p.Name, p.Email, note)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nSallyport reaches the demo identity provider on loopback only because the demo turns on\n")
	fmt.Fprintf(w, "insecure_allow_private_networks; never turn it on in production.\n")
	if in.TempData {
		fmt.Fprintf(w, "Data: a fresh SQLite database in %s, deleted when the demo stops.\n", in.DataDir)
	} else {
		fmt.Fprintf(w, "Data: the SQLite database in %s.\n", in.DataDir)
	}
	fmt.Fprintf(w, "\nNot in this demo yet: the org acme (acme.test) with its own connection and SSO required,\n")
	fmt.Fprintf(w, "and a break-glass admin who signs in with a password. Sallyport does not yet create orgs\n")
	fmt.Fprintf(w, "from its settings or offer password sign-in.\n")
	fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
}

// Shutdown stops the servers (letting requests in flight finish while ctx
// allows), closes Sallyport and the demo identity provider, and removes a
// temporary data directory.
func (d *Demo) Shutdown(ctx context.Context) error {
	var errs []error
	for _, hs := range d.servers {
		if err := hs.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, d.srv.Close(), d.idp.Close())
	if d.removeData {
		errs = append(errs, os.RemoveAll(d.dataDir))
	}
	return errors.Join(errs...)
}

// randomKey is a new 32-byte encryption key, base64: the demo's secrets
// at rest live only as long as its database.
func randomKey() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(b)
}

// randomSecret is a client secret.
func randomSecret() string { return randomString() }
