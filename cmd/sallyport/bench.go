package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/sallyport/sallyport/internal/loadgen"
)

// benchCmd groups the load-test verbs: they drive a running Sallyport the
// way browsers and apps do and report how fast it answers. A run is
//
//	sallyport bench config > bench.yaml
//	sallyport serve --config bench.yaml &
//	sallyport bench login -c 32 -d 30s
type benchCmd struct {
	Login  benchLoginCmd  `cmd:"" help:"Drive full federated sign-ins against a running Sallyport (started with the configuration from bench config) and print sign-ins per second and latency. Exits non-zero if any sign-in failed."`
	Config benchConfigCmd `cmd:"" help:"Print a Sallyport configuration for bench login: the bench upstream connection, the bench app without consent, rate limits off."`
}

// benchTarget are the flags bench config and bench login must agree on.
type benchTarget struct {
	Sallyport   string `default:"http://127.0.0.1:8080" placeholder:"URL" help:"Sallyport's issuer URL (it listens on its host:port)."`
	Upstream    string `default:"127.0.0.1:9000" placeholder:"HOST:PORT" help:"Where bench login runs the upstream identity provider; Sallyport's configuration names it."`
	UpstreamAlg string `default:"ES256" enum:"ES256,RS256" help:"The upstream's ID-token signing algorithm (ES256 leaves more of a shared CPU to Sallyport than RS256)."`
}

func (t benchTarget) validate() error {
	host, _, err := net.SplitHostPort(t.Upstream)
	if err != nil || host == "" || net.ParseIP(host) == nil || net.ParseIP(host).IsUnspecified() {
		return fmt.Errorf("--upstream %q: want an IP address and a port, like 127.0.0.1:9000, because it becomes the upstream's issuer", t.Upstream)
	}
	if !strings.HasPrefix(t.Sallyport, "http://") && !strings.HasPrefix(t.Sallyport, "https://") {
		return fmt.Errorf("--sallyport %q: want Sallyport's issuer URL, like http://127.0.0.1:8080", t.Sallyport)
	}
	return nil
}

type benchConfigCmd struct {
	benchTarget
	Database   string `default:"sqlite:./bench-data/sallyport.db" placeholder:"URL" help:"Sallyport's database: sqlite:FILE or postgres://… (start each run on a fresh one)."`
	IDTokenAlg string `name:"id-token-alg" enum:"RS256,ES256,EdDSA" default:"RS256" help:"The algorithm Sallyport signs the bench app's ID tokens with."`
}

// Run prints the configuration; it makes a new encryption key each time.
func (c *benchConfigCmd) Run(e *env) error {
	if err := c.validate(); err != nil {
		return err
	}
	settings, err := loadgen.Setup{
		Issuer:         strings.TrimSuffix(c.Sallyport, "/"),
		Database:       c.Database,
		UpstreamIssuer: loadgen.UpstreamIssuer(c.Upstream),
		UpstreamAlg:    c.UpstreamAlg,
		IDTokenAlg:     c.IDTokenAlg,
	}.Settings()
	if err != nil {
		return err
	}
	return loadgen.WriteSettings(e.stdout, settings)
}

type benchLoginCmd struct {
	benchTarget
	Browsers     int           `short:"c" default:"32" help:"Browsers signing in at once; each starts its next sign-in when the last one ends."`
	Duration     time.Duration `short:"d" default:"30s" help:"How long to measure."`
	Users        int           `default:"100" help:"Upstream users the sign-ins cycle through (login_hint)."`
	Warmup       bool          `default:"true" negatable:"" help:"Before measuring, sign every user in once (Sallyport creates them, fetches the upstream's keys) and report that apart."`
	SallyportPID int           `name:"sallyport-pid" placeholder:"PID" help:"Sallyport's process id: report its CPU time per sign-in (Linux, from /proc)."`
	CPUOf        []string      `name:"cpu-of" placeholder:"COMMAND" help:"Also report the CPU time of every process with this command name, such as postgres (Linux, from /proc)."`

	// Another OpenID Provider in Sallyport's place, measured the same way
	// on the same machine (scripts/bench-dex.sh): its issuer goes in
	// --sallyport, and these name what it was configured with. Empty means
	// what bench config writes for Sallyport.
	ClientID         string `name:"client-id" placeholder:"ID" help:"The app's client id at the server under load (default: bench config's)."`
	ClientSecret     string `name:"client-secret" placeholder:"SECRET" help:"The app's client secret (client_secret_basic; default: bench config's)."`
	RedirectURI      string `name:"redirect-uri" placeholder:"URL" help:"The app's registered redirect URI (default: bench config's)."`
	UpstreamCallback string `name:"upstream-callback" placeholder:"URL" help:"The redirect URI the upstream accepts from the server under load (default: Sallyport's /callback/bench)."`
}

// Run starts the upstream, warms up, measures, and prints the figures.
// Any failed sign-in, warm-up included, makes the exit status 1.
func (c *benchLoginCmd) Run(e *env) error {
	if err := c.validate(); err != nil {
		return err
	}
	if c.Browsers < 1 || c.Duration <= 0 || c.Users < 1 {
		return errors.New("--browsers, --duration and --users must be positive")
	}
	issuer := strings.TrimSuffix(c.Sallyport, "/")
	ln, err := net.Listen("tcp", c.Upstream)
	if err != nil {
		return fmt.Errorf("the upstream cannot listen: %w", err)
	}
	up, err := loadgen.StartUpstream(loadgen.UpstreamConfig{
		Listener: ln, ClientID: loadgen.DefaultUpstreamClientID, ClientSecret: loadgen.DefaultUpstreamClientSecret,
		CallbackURL: cmp.Or(c.UpstreamCallback, loadgen.CallbackURL(issuer)), Users: c.Users, Alg: c.UpstreamAlg,
	})
	if err != nil {
		return err
	}
	defer up.Close()

	l, err := c.connect(e, loadgen.Config{
		Issuer: issuer, ClientID: cmp.Or(c.ClientID, loadgen.DefaultClientID), ClientSecret: cmp.Or(c.ClientSecret, loadgen.DefaultClientSecret),
		RedirectURI: cmp.Or(c.RedirectURI, loadgen.DefaultRedirectURI), Connection: loadgen.DefaultConnection, Users: c.Users,
	})
	if err != nil {
		return fmt.Errorf("%w (is `sallyport serve` running with the configuration from `sallyport bench config`?)", err)
	}
	defer l.Close()
	fmt.Fprintf(e.stdout, "sallyport  %s, connection %s\nupstream   %s (%s), %d users\n",
		issuer, loadgen.DefaultConnection, up.Issuer(), c.UpstreamAlg, c.Users)

	if err := c.awaitUpstreamKeys(e, l); err != nil {
		return err
	}
	failed := 0
	if c.Warmup {
		r, err := l.Run(e.ctx, loadgen.Phase{Browsers: c.Browsers, SignIns: c.Users})
		if err != nil {
			return err
		}
		failed += r.Failed()
		fmt.Fprintf(e.stdout, "warm-up    %d verified, %d failed in %.1fs\n", r.SignIns, r.Failed(), r.Elapsed.Seconds())
		if err := r.WriteErrors(e.stdout); err != nil {
			return err
		}
	}
	if e.ctx.Err() != nil {
		return silentExit(1)
	}

	before, err := c.readCPU()
	if err != nil {
		return err
	}
	r, err := l.Run(e.ctx, loadgen.Phase{Browsers: c.Browsers, Duration: c.Duration})
	if err != nil {
		return err
	}
	after, err := c.readCPU()
	if err != nil {
		return err
	}
	if err := r.WriteReport(e.stdout); err != nil {
		return err
	}
	c.writeCPU(e.stdout, before, after, r)
	failed += r.Failed()
	if e.ctx.Err() != nil {
		fmt.Fprintln(e.stdout, "interrupted: the figures cover the time until then")
		return silentExit(1)
	}
	if failed > 0 || r.SignIns == 0 {
		return silentExit(1)
	}
	return nil
}

// serverStartWait is how long bench login waits for the server under load
// to answer its discovery document. Some servers (Dex) fetch their
// upstream's discovery when they start and refuse to start without it, so
// they can only be started once bench login has started the upstream.
const serverStartWait = 30 * time.Second

// connect fetches the server's discovery document, trying again every
// 200 ms for at most serverStartWait.
func (c *benchLoginCmd) connect(e *env, cfg loadgen.Config) (*loadgen.Loader, error) {
	deadline := time.Now().Add(serverStartWait)
	for {
		l, err := loadgen.New(e.ctx, cfg)
		if err == nil || e.ctx.Err() != nil || time.Now().After(deadline) {
			return l, err
		}
		select {
		case <-e.ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// keysRefetchWait is how long a Sallyport that verified tokens from an
// earlier bench upstream may take to accept this one's: every bench
// upstream has new keys, and Sallyport fetches an upstream's keys again
// for an unknown key id at most once per 30 s.
const keysRefetchWait = 35 * time.Second

// awaitUpstreamKeys signs in once, and again every second while Sallyport
// refuses the upstream's ID token at its callback (400), for at most
// keysRefetchWait. Any other failure, or a refusal that outlasts the wait,
// is left for the runs to count.
func (c *benchLoginCmd) awaitUpstreamKeys(e *env, l *loadgen.Loader) error {
	const refused = "GET sallyport /callback/" + loadgen.DefaultConnection + " answered 400"
	deadline := time.Now().Add(keysRefetchWait)
	for said := false; ; said = true {
		r, err := l.Run(e.ctx, loadgen.Phase{Browsers: 1, SignIns: 1})
		if err != nil || r.Errors[refused] == 0 || time.Now().After(deadline) {
			return err
		}
		if !said {
			fmt.Fprintf(e.stdout, "waiting    Sallyport refuses the new upstream's ID tokens (%s); it fetches the keys again within 30 s\n", r.Samples[refused])
		}
		select {
		case <-e.ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// cpuClocks are the CPU times read on either side of the measured phase
// (Linux: /proc). A clock that cannot be read stays zero and is not shown.
type cpuClocks struct {
	sallyport, bench        time.Duration
	commands                []time.Duration // one per --cpu-of name
	machineBusy, machineAll time.Duration
}

func (c *benchLoginCmd) readCPU() (cpuClocks, error) {
	var k cpuClocks
	var err error
	if c.SallyportPID != 0 {
		if k.sallyport, err = loadgen.ProcessCPU(c.SallyportPID); err != nil {
			return k, err // asked for and not there: the figure would be wrong
		}
	}
	k.bench, _ = loadgen.ProcessCPU(0)
	for _, name := range c.CPUOf {
		cpu, _ := loadgen.CommandCPU(name)
		k.commands = append(k.commands, cpu)
	}
	k.machineBusy, k.machineAll, _ = loadgen.MachineCPU()
	return k, nil
}

// writeCPU prints the CPU each process used over the measured phase (in
// all, as a share of one core, and per verified sign-in), then how busy
// the whole machine was and how much of that was someone else's: a figure
// taken on a machine others were loading is not the server's alone.
func (c *benchLoginCmd) writeCPU(w io.Writer, before, after cpuClocks, r loadgen.Result) {
	line := func(who string, cpu time.Duration) {
		perSignIn := 0.0
		if r.SignIns > 0 {
			perSignIn = float64(cpu) / float64(time.Millisecond) / float64(r.SignIns)
		}
		fmt.Fprintf(w, "cpu        %-10s %6.2fs  %4.0f%% of one core  %.2f ms per sign-in\n",
			who, cpu.Seconds(), 100*cpu.Seconds()/r.Elapsed.Seconds(), perSignIn)
	}
	accounted := time.Duration(0)
	if c.SallyportPID != 0 {
		line("sallyport", after.sallyport-before.sallyport)
		accounted += after.sallyport - before.sallyport
	}
	if after.bench > 0 {
		line("bench", after.bench-before.bench) // browsers, app and upstream
		accounted += after.bench - before.bench
	}
	for i, name := range c.CPUOf {
		line(name, after.commands[i]-before.commands[i])
		accounted += after.commands[i] - before.commands[i]
	}
	if all := after.machineAll - before.machineAll; all > 0 {
		busy := after.machineBusy - before.machineBusy
		fmt.Fprintf(w, "cpu        machine    %.0f%% busy of %d cores; others used %.2fs\n",
			100*float64(busy)/float64(all), runtime.NumCPU(), max(0, busy-accounted).Seconds())
	}
}
