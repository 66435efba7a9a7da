package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/sallyport/sallyport"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/store/sqlstore"
	"github.com/sallyport/sallyport/internal/store/sqlstore/sqltest"
)

// The test binary doubles as the sallyport command: a child started with
// SALLYPORT_TEST_MAIN runs main's code path with the child's arguments, so
// these tests exercise real processes, real signals and real files.
func TestMain(m *testing.M) {
	switch os.Getenv("SALLYPORT_TEST_MAIN") {
	case "":
		os.Exit(m.Run())
	case "cli":
		main()
	case "serve-and-write":
		// serve, plus a writer that commits users through its own store
		// handle and reports each commit on stdout: the SIGKILL test.
		ctx, stop := signalNotifyContext()
		defer stop()
		e := &env{ctx: ctx, stdout: os.Stdout, stderr: os.Stderr,
			onServing: func(srv *sallyport.Server, _ net.Addr) { go writeUntilKilled(ctx, srv.Settings().Database) }}
		os.Exit(runWith(e, os.Args[1:]))
	}
}

// writeUntilKilled commits one user and one audit event per transaction and
// prints "committed <id>" only after each commit returns.
func writeUntilKilled(ctx context.Context, databaseURL string) {
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: databaseURL})
	if err != nil {
		fmt.Println("writer:", err)
		return
	}
	for i := 0; ctx.Err() == nil; i++ {
		u := store.User{Email: fmt.Sprintf("person%d@example.com", i), Status: store.UserActive}
		err := db.Tx(ctx, func(q store.Queries) error {
			if err := q.CreateUser(ctx, &u); err != nil {
				return err
			}
			return q.AppendAuditEvent(ctx, &store.AuditEvent{At: time.Now(), Type: "user.create", Outcome: "jit_created", UserID: u.ID, Detail: []byte(`{}`)})
		})
		if err != nil {
			fmt.Println("writer:", err)
			return
		}
		fmt.Println("committed", u.ID)
	}
}

// child is a running sallyport process.
type child struct {
	cmd    *exec.Cmd
	addr   string
	stdout *lockedBuffer
	stderr *lockedBuffer
	lines  chan string // stdout lines
	done   chan error
}

type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the test binary as sallyport in dir and waits until it logs
// the address it listens on.
func start(t *testing.T, mode, dir string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SALLYPORT_TEST_MAIN="+mode)
	c := &child{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, lines: make(chan string, 100000), done: make(chan error, 1)}
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.done
	})
	listening := make(chan string, 1)
	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() {
		defer pipes.Done()
		sc := bufio.NewScanner(stderrPipe)
		for sc.Scan() {
			line := sc.Text()
			c.stderr.Write([]byte(line + "\n"))
			var entry struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "listening" {
				listening <- entry.Addr
			}
		}
	}()
	go func() {
		defer pipes.Done()
		sc := bufio.NewScanner(stdoutPipe)
		for sc.Scan() {
			c.stdout.Write([]byte(sc.Text() + "\n"))
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	go func() {
		pipes.Wait()
		c.done <- cmd.Wait()
	}()
	select {
	case c.addr = <-listening:
	case err := <-c.done:
		c.done <- err
		t.Fatalf("sallyport exited before listening (%v):\n%s", err, c.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("sallyport did not listen within 60s:\n%s", c.stderr)
	}
	return c
}

// wait waits for the child to exit and returns its exit code.
func (c *child) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-c.done:
		c.done <- err
		return c.cmd.ProcessState.ExitCode()
	case <-time.After(60 * time.Second):
		t.Fatalf("sallyport did not exit within 60s:\n%s", c.stderr)
		return -1
	}
}

func get(t *testing.T, rawURL string) (int, string) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, c *child) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body := get(t, "http://"+c.addr+"/readyz")
		if status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %s", status, body)
		}
		time.Sleep(50 * time.Millisecond) // polling a separate process; no clock to inject
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// A fresh directory and no encryption key: serve starts on the embedded
// default, generates the key once (0600) and says where, answers health,
// readiness and metrics, and stops cleanly on SIGTERM.
func TestServeOnFreshDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sallyport.yaml"), "listen: 127.0.0.1:0\nissuer: http://127.0.0.1:8080\n")
	c := start(t, "cli", dir, "serve", "--config", "sallyport.yaml")

	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body := get(t, "http://"+c.addr+path); status != http.StatusOK {
			t.Errorf("GET %s = %d %q", path, status, body)
		}
	}
	status, metrics := get(t, "http://"+c.addr+"/metrics")
	if status != http.StatusOK || !strings.Contains(metrics, `sallyport_http_requests_total{`) || !strings.Contains(metrics, `route="GET /healthz"`) {
		t.Errorf("GET /metrics = %d, want request counts by route:\n%.2000s", status, metrics)
	}

	keyFile := filepath.Join(dir, "sallyport-data", "encryption.key")
	info, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("no generated key: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	if !strings.Contains(c.stderr.String(), "encryption.key") || !strings.Contains(c.stderr.String(), `"level":"WARN"`) {
		t.Errorf("serve did not warn where the generated key is:\n%s", c.stderr)
	}

	c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.wait(t); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d:\n%s", code, c.stderr)
	}
	if !strings.Contains(c.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop logged:\n%s", c.stderr)
	}
	// A clean close checkpoints the WAL: the database is one file again.
	if info, err := os.Stat(filepath.Join(dir, "sallyport-data", "sallyport.db-wal")); err == nil && info.Size() > 0 {
		t.Errorf("WAL not checkpointed at close: %d bytes left", info.Size())
	}

	// The second start reuses the key rather than making a new one.
	before, _ := os.ReadFile(keyFile)
	c = start(t, "cli", dir, "serve", "--config", "sallyport.yaml")
	waitReady(t, c)
	c.cmd.Process.Signal(syscall.SIGINT)
	if code := c.wait(t); code != 0 {
		t.Fatalf("exit code after SIGINT = %d", code)
	}
	if after, _ := os.ReadFile(keyFile); !bytes.Equal(before, after) {
		t.Error("the generated key changed between starts")
	}
}

// Outside the default data directory a missing key is an error, never a
// silently generated key.
func TestServeRefusesMissingKeyOffDefault(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.yaml"), "listen: 127.0.0.1:0\ndatabase: sqlite:./elsewhere/db.sqlite\n")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--config", filepath.Join(dir, "c.yaml")}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "encryption_key") {
		t.Fatalf("code %d, stderr %q: want a refusal naming encryption_key", code, stderr.String())
	}
}

func TestCheckConfigReportsEveryProblemByField(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "bad.yaml"), `issuer: not a url
connections:
  - slug: corp
    kind: oidc
    issuer: https://idp.example.com
    clinet_id: abc
  - slug: google
    kind: google
    client_id: xyz
`)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"check-config", "--config", path}, &stdout, &stderr)
	if code == 0 {
		t.Fatalf("check-config exited 0 on a bad file:\n%s", stdout.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"issuer: ",                       // not a URL
		"connections[0].clinet_id: ",     // the typo
		"connections[1].client_secret: ", // missing secret
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	good := writeFile(t, filepath.Join(dir, "good.yaml"), "listen: 127.0.0.1:8080\n")
	stdout.Reset()
	if code := run(context.Background(), []string{"check-config", "--config", good}, &stdout, &stderr); code != 0 || strings.TrimSpace(stdout.String()) != "ok" {
		t.Fatalf("check-config on a good file: code %d, output %q", code, stdout.String())
	}
}

func TestHelpAndVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, cmd := range []string{"serve", "migrate", "check-config", "version"} {
		if !strings.Contains(stdout.String(), cmd) {
			t.Errorf("--help does not list %s:\n%s", cmd, stdout.String())
		}
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"version"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "sallyport ") {
		t.Errorf("version: code %d, %q", code, stdout.String())
	}
	if code := run(context.Background(), []string{"no-such-command"}, &stdout, &stderr); code == 0 {
		t.Error("an unknown command exited 0")
	}
}

// SIGKILL while transactions commit, then restart: every commit reported
// before the kill is there, and SQLite finds its file consistent.
func TestKillDuringWritesLosesNoCommittedRow(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.yaml"), "listen: 127.0.0.1:0\nissuer: http://127.0.0.1:8080\n")
	c := start(t, "serve-and-write", dir, "serve", "--config", "c.yaml")

	var committed []string
	for line := range c.lines {
		id, ok := strings.CutPrefix(line, "committed ")
		if !ok {
			t.Fatalf("writer: %s\n%s", line, c.stderr)
		}
		committed = append(committed, id)
		if len(committed) == 300 {
			break
		}
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.wait(t)
	for line := range c.lines { // commits reported between our read and the kill
		if id, ok := strings.CutPrefix(line, "committed "); ok {
			committed = append(committed, id)
		}
	}

	// Restart: serve recovers the WAL and becomes ready.
	c = start(t, "cli", dir, "serve", "--config", "c.yaml")
	waitReady(t, c)
	c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.wait(t); code != 0 {
		t.Fatalf("restart exit code %d:\n%s", code, c.stderr)
	}

	dbPath := filepath.Join(dir, "sallyport-data", "sallyport.db")
	db, err := sqlstore.Open(context.Background(), sqlstore.Config{URL: "sqlite:" + dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range committed {
		if _, err := db.GetUser(context.Background(), id); err != nil {
			t.Fatalf("committed user %s: %v", id, err)
		}
	}
	events, err := db.ListAuditEvents(context.Background(), store.AuditFilter{Limit: 1000})
	if err != nil || len(events) < min(len(committed), 1000) {
		t.Fatalf("audit events: %d, %v; want at least %d", len(events), err, min(len(committed), 1000))
	}

	raw, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var integrity string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	rows, err := raw.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Fatal("foreign_key_check found violations")
	}
	t.Logf("%d commits reported before SIGKILL, all present", len(committed))
}

// Two replicas started at the same moment on one empty PostgreSQL database
// both become ready, and the schema is migrated exactly once.
func TestTwoReplicasStartTogetherOnPostgres(t *testing.T) {
	dbURL := sqltest.NewDatabase(t, sqltest.PostgresURL(t))
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf("listen: 127.0.0.1:0\nissuer: http://127.0.0.1:8080\ndatabase: %q\nencryption_key: %s\n", dbURL, newKey(t)))

	replicas := make([]*child, 2)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { replicas[i] = start(t, "cli", dir, "serve", "--config", "c.yaml") })
	}
	wg.Wait()
	for _, c := range replicas {
		waitReady(t, c)
	}

	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, versions int
	if err := db.QueryRow("SELECT count(*), count(DISTINCT version_id) FROM goose_db_version").Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	if rows != versions {
		t.Fatalf("goose_db_version has %d rows for %d versions: a migration ran twice", rows, versions)
	}
	for _, c := range replicas {
		c.cmd.Process.Signal(syscall.SIGTERM)
		if code := c.wait(t); code != 0 {
			t.Errorf("replica exit code %d:\n%s", code, c.stderr)
		}
	}
}

// migrate brings a database up to date; serve --no-migrate then starts, and
// refuses to start on an empty database.
func TestMigrateThenServeWithoutMigrating(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf("listen: 127.0.0.1:0\ndatabase: sqlite:%s\nencryption_key: %s\n", filepath.Join(dir, "db", "s.db"), newKey(t)))

	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--no-migrate", "--config", cfg}, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "sallyport migrate") {
		t.Fatalf("serve --no-migrate on an empty database: code %d, %q", code, stderr.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"migrate", "--config", cfg}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "applied") {
		t.Fatalf("migrate: code %d, %q %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"migrate", "--config", cfg}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "up to date") {
		t.Fatalf("second migrate: code %d, %q", code, stdout.String())
	}
	c := start(t, "cli", dir, "serve", "--no-migrate", "--config", cfg)
	waitReady(t, c)
}
