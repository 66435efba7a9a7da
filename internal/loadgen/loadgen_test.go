package loadgen_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/sallyport/sallyport"
	"github.com/sallyport/sallyport/internal/loadgen"
	"github.com/sallyport/sallyport/internal/store/sqlstore/sqltest"
	"github.com/sallyport/sallyport/internal/testidp"
)

// bench is one Sallyport and its bench upstream, in this process, both
// over real HTTP on loopback, configured as `sallyport bench config` would.
type bench struct {
	issuer   string
	upstream *loadgen.Upstream
}

func startBench(t *testing.T, database string) *bench {
	t.Helper()
	spLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		spLn.Close()
		t.Fatal(err)
	}
	issuer := "http://" + spLn.Addr().String()
	settings, err := loadgen.Setup{Issuer: issuer, Database: database, UpstreamIssuer: loadgen.UpstreamIssuer(upLn.Addr().String())}.Settings()
	if err != nil {
		t.Fatal(err)
	}
	up, err := loadgen.StartUpstream(loadgen.UpstreamConfig{
		Listener: upLn, ClientID: loadgen.DefaultUpstreamClientID, ClientSecret: loadgen.DefaultUpstreamClientSecret,
		CallbackURL: loadgen.CallbackURL(issuer), Users: 3,
	})
	if err != nil {
		spLn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	srv, err := sallyport.New(context.Background(), sallyport.Config{Settings: settings, CleanupInterval: -1})
	if err != nil {
		spLn.Close()
		t.Fatal(err)
	}
	ts := &httptest.Server{Listener: spLn, Config: &http.Server{Handler: srv.Handler()}}
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return &bench{issuer: issuer, upstream: up}
}

func newLoader(t *testing.T, b *bench, users int) *loadgen.Loader {
	t.Helper()
	l, err := loadgen.New(context.Background(), loadgen.Config{
		Issuer: b.issuer, ClientID: loadgen.DefaultClientID, ClientSecret: loadgen.DefaultClientSecret,
		RedirectURI: loadgen.DefaultRedirectURI, Connection: loadgen.DefaultConnection, Users: users,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// A short load of whole federated sign-ins, two browsers at once, ends
// with every ID token verified, each sign-in having gone through the
// upstream, and the users cycled through.
func TestRun(t *testing.T) {
	run := func(t *testing.T, database string) {
		b := startBench(t, database)
		l := newLoader(t, b, 3)
		r, err := l.Run(context.Background(), loadgen.Phase{Browsers: 2, SignIns: 8})
		if err != nil {
			t.Fatal(err)
		}
		var report bytes.Buffer
		r.WriteReport(&report)
		if r.Failed() != 0 || r.SignIns != 8 {
			t.Fatalf("%d verified, %d failed; want 8 and 0\n%s", r.SignIns, r.Failed(), report.String())
		}
		if got := b.upstream.Requests(testidp.EndpointAuthorize); got != 8 {
			t.Errorf("the upstream authorized %d times, want 8 (once per sign-in)", got)
		}
		if got := b.upstream.Requests(testidp.EndpointToken); got != 8 {
			t.Errorf("the upstream issued tokens %d times, want 8", got)
		}
		if r.Subjects != 3 {
			t.Errorf("%d distinct users signed in, want 3 (login_hint cycles through the upstream's users)", r.Subjects)
		}
		if r.Latency.Min <= 0 || r.Latency.Min > r.Latency.P50 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max || r.Elapsed <= 0 {
			t.Errorf("latency figures out of order: %+v, elapsed %v", r.Latency, r.Elapsed)
		}

		// A second phase on the same loader keeps going: the users are
		// known now, and the ID-token keys were fetched once.
		r, err = l.Run(context.Background(), loadgen.Phase{Browsers: 2, SignIns: 4})
		if err != nil {
			t.Fatal(err)
		}
		if r.Failed() != 0 || r.SignIns != 4 {
			t.Fatalf("second phase: %d verified, %d failed; want 4 and 0\n%v", r.SignIns, r.Failed(), r.Samples)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "sqlite:"+filepath.Join(t.TempDir(), "sallyport.db")) })
	t.Run("postgres", func(t *testing.T) { run(t, sqltest.NewSchema(t, sqltest.PostgresURL(t))) })
}

// A sign-in Sallyport refuses is counted by kind, and the run goes on.
func TestRunCountsErrors(t *testing.T) {
	b := startBench(t, "sqlite:"+filepath.Join(t.TempDir(), "sallyport.db"))
	l, err := loadgen.New(context.Background(), loadgen.Config{
		Issuer: b.issuer, ClientID: loadgen.DefaultClientID, ClientSecret: "not-the-secret",
		RedirectURI: loadgen.DefaultRedirectURI, Connection: loadgen.DefaultConnection,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	r, err := l.Run(context.Background(), loadgen.Phase{Browsers: 2, SignIns: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.SignIns != 0 || r.Failed() != 3 || r.Errors["POST token answered 401 invalid_client"] != 3 {
		t.Errorf("%d verified, errors %v; want 0 and three invalid_client", r.SignIns, r.Errors)
	}
}

// Cancelling the run stops it without counting the sign-ins it cut short.
func TestRunCancelled(t *testing.T) {
	b := startBench(t, "sqlite:"+filepath.Join(t.TempDir(), "sallyport.db"))
	l := newLoader(t, b, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := l.Run(ctx, loadgen.Phase{Browsers: 2, SignIns: 100})
	if err != nil {
		t.Fatal(err)
	}
	if r.SignIns != 0 || r.Failed() != 0 {
		t.Errorf("a cancelled run counted %d verified and %d failed, want none", r.SignIns, r.Failed())
	}
}
