// Command sallyport runs the Sallyport single-sign-on broker and its
// administration verbs. It is wiring only: everything it does lives in the
// sallyport package and the internal packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/sallyport/sallyport"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
	"github.com/sallyport/sallyport/internal/telemetry"
	"github.com/sallyport/sallyport/internal/web"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func main() {
	ctx, stop := signalNotifyContext()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// signalNotifyContext is cancelled by SIGINT or SIGTERM: the signals that
// ask serve to finish in-flight requests and stop.
func signalNotifyContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// cli is the command tree. Each command's Run receives the *env.
type cli struct {
	Serve       serveCmd       `cmd:"" help:"Run the Sallyport server on the configured address until SIGINT or SIGTERM."`
	Migrate     migrateCmd     `cmd:"" help:"Bring the database schema up to date, then exit."`
	CheckConfig checkConfigCmd `cmd:"" name:"check-config" help:"Check a configuration file and print every problem found, or ok."`
	Client      clientCmd      `cmd:"" help:"Manage the apps (OAuth clients) that sign people in through Sallyport."`
	Keys        keysCmd        `cmd:"" help:"Manage the keys Sallyport signs tokens with: list, rotate."`
	Demo        demoCmd        `cmd:"" help:"Run Sallyport with a demo identity provider and a demo app on 127.0.0.1, no accounts needed; Ctrl-C stops it."`
	Bench       benchCmd       `cmd:"" help:"Load-test a running Sallyport: full federated sign-ins from many browsers at once."`
	Version     versionCmd     `cmd:"" help:"Print the version."`
}

// env is what every command runs with.
type env struct {
	ctx            context.Context
	stdout, stderr io.Writer
	// onServing, when set (tests only), is called once serve listens.
	onServing func(srv *sallyport.Server, addr net.Addr)
}

// configFlag is the --config flag shared by the commands that read one.
type configFlag struct {
	Config string `short:"c" placeholder:"FILE" env:"SALLYPORT_CONFIG" help:"Configuration file (YAML). Without one, Sallyport runs on its defaults: http://127.0.0.1:8080 with SQLite under ./sallyport-data."`
}

// load returns the settings from --config, or the defaults.
func (f configFlag) load() (*sallyport.Settings, error) {
	if f.Config == "" {
		return sallyport.DefaultSettings(), nil
	}
	return sallyport.LoadSettings(f.Config)
}

// run parses args and runs one command; it returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(&env{ctx: ctx, stdout: stdout, stderr: stderr}, args)
}

func runWith(e *env, args []string) int {
	var c cli
	exitCode := -1
	parser, err := kong.New(&c,
		kong.Name("sallyport"),
		kong.Description("Sallyport is a self-hosted single-sign-on broker. Apps send their users here to sign in; Sallyport signs them in through an upstream identity provider and hands the app a verified user over OpenID Connect."),
		kong.UsageOnError(),
		kong.Writers(e.stdout, e.stderr),
		kong.Exit(func(code int) { exitCode = code }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintln(e.stderr, "sallyport:", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if exitCode >= 0 { // --help or a usage error already printed
		return exitCode
	}
	if err != nil {
		fmt.Fprintln(e.stderr, "sallyport:", err)
		return 2
	}
	if err := kctx.Run(e); err != nil {
		var ec exitCoder
		if errors.As(err, &ec) {
			return ec.ExitCode()
		}
		fmt.Fprintln(e.stderr, "sallyport:", err)
		return 1
	}
	return 0
}

// exitCoder is an error that already told the person what went wrong and
// only needs its exit code passed on.
type exitCoder interface{ ExitCode() int }

type silentExit int

func (s silentExit) Error() string { return fmt.Sprintf("exit %d", int(s)) }
func (s silentExit) ExitCode() int { return int(s) }

// loadWithLogger loads the settings and builds the process logger from
// their log section.
func (f configFlag) loadWithLogger(w io.Writer) (*sallyport.Settings, *slog.Logger, error) {
	settings, err := f.load()
	if err != nil {
		return nil, nil, err
	}
	level, err := telemetry.ParseLevel(settings.Log.Level)
	if err != nil {
		return nil, nil, fmt.Errorf("log.level: %w", err)
	}
	return settings, telemetry.NewLogger(w, level, settings.Log.Format), nil
}

// openCurrentStore loads the settings and opens the configured database
// for an admin verb. It refuses a schema that is not current rather than
// migrating it: that is `migrate`'s (or `serve`'s) decision, taken with the
// binary that will run against it.
func (f configFlag) openCurrentStore(e *env) (*sallyport.Settings, *slog.Logger, *sqlstore.DB, error) {
	settings, log, err := f.loadWithLogger(e.stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := sqlstore.Open(e.ctx, sqlstore.Config{URL: settings.Database, Logger: log})
	if err != nil {
		return nil, nil, nil, err
	}
	if current, err := db.SchemaCurrent(e.ctx); err != nil || !current {
		db.Close()
		return nil, nil, nil, errors.Join(errors.New("the database schema is not current: run `sallyport migrate` with the same --config first"), err)
	}
	return settings, log, db, nil
}

type serveCmd struct {
	configFlag
	NoMigrate       bool          `name:"no-migrate" help:"Do not migrate the database at start; refuse to start unless its schema is current."`
	ShutdownTimeout time.Duration `default:"30s" help:"How long in-flight requests may take to finish after SIGINT or SIGTERM."`
	CPUProfile      string        `name:"cpu-profile" placeholder:"FILE" help:"Profile the CPU for the whole run and write the profile (go tool pprof) to FILE at shutdown; for load tests."`
}

// Run serves until the context is cancelled (SIGINT or SIGTERM), then lets
// in-flight requests finish before closing the database.
func (c *serveCmd) Run(e *env) error {
	settings, log, err := c.loadWithLogger(e.stderr)
	if err != nil {
		return err
	}
	if c.CPUProfile != "" {
		stop, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			return err
		}
		defer stop() // after the server has stopped: the profile covers every request
	}
	srv, err := sallyport.New(e.ctx, sallyport.Config{Settings: settings, Logger: log, SkipMigrations: c.NoMigrate})
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			log.Error("closing the database failed", "err", err)
		}
	}()

	ln, err := net.Listen("tcp", settings.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := web.NewHTTPServer(settings.Listen, srv.Handler(), log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "issuer", settings.Issuer, "version", versionString())
	if e.onServing != nil {
		e.onServing(srv, ln.Addr())
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-e.ctx.Done():
	}
	log.Info("shutting down: waiting for in-flight requests", "timeout", c.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		log.Error("in-flight requests did not finish in time", "err", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "err", err)
	}
	log.Info("stopped")
	return nil
}

// startCPUProfile starts profiling into a new file; stop ends it and
// closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

type migrateCmd struct {
	configFlag
}

// Run applies pending migrations. On PostgreSQL it takes the migration lock,
// so it is safe while replicas are starting.
func (c *migrateCmd) Run(e *env) error {
	settings, log, err := c.loadWithLogger(e.stderr)
	if err != nil {
		return err
	}
	db, err := sqlstore.Open(e.ctx, sqlstore.Config{URL: settings.Database, Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(e.ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(e.stdout, "the schema is up to date")
	} else {
		fmt.Fprintf(e.stdout, "applied %d migration(s); the schema is up to date\n", n)
	}
	return nil
}

type checkConfigCmd struct {
	Config string `short:"c" required:"" placeholder:"FILE" env:"SALLYPORT_CONFIG" help:"Configuration file (YAML) to check."`
}

// Run prints "ok", or every problem, one per line naming its field.
func (c *checkConfigCmd) Run(e *env) error {
	_, err := sallyport.LoadSettings(c.Config)
	if err == nil {
		fmt.Fprintln(e.stdout, "ok")
		return nil
	}
	var problems config.Problems
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Fprintf(e.stdout, "%s: %s\n", p.Field, p.Message)
		}
		fmt.Fprintf(e.stderr, "sallyport: %s: %d problem(s)\n", c.Config, len(problems))
		return silentExit(1)
	}
	return err
}

type versionCmd struct{}

// Run prints the version.
func (versionCmd) Run(e *env) error {
	fmt.Fprintln(e.stdout, "sallyport", versionString())
	return nil
}

// versionString is the -ldflags version, else the module version the binary
// was built from, else "devel".
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
