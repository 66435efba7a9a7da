package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What `bench config` prints is a configuration `check-config` accepts,
// naming the upstream bench login will run and the database asked for.
func TestBenchConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"bench", "config", "--sallyport", "http://127.0.0.1:8181", "--upstream", "127.0.0.1:9191",
		"--database", "postgres://postgres@127.0.0.1:5432/bench?sslmode=disable"}, &out, &errOut); code != 0 {
		t.Fatalf("bench config exited %d: %s", code, errOut.String())
	}
	for _, want := range []string{"issuer: http://127.0.0.1:8181\n", "listen: 127.0.0.1:8181\n", "issuer: http://127.0.0.1:9191/generic\n",
		"database: postgres://postgres@127.0.0.1:5432/bench?sslmode=disable\n", "enabled: false\n", "skip_consent: true\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("bench config lacks %q:\n%s", want, out.String())
		}
	}
	path := filepath.Join(t.TempDir(), "bench.yaml")
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(context.Background(), []string{"check-config", "--config", path}, &out, &errOut); code != 0 || out.String() != "ok\n" {
		t.Errorf("check-config exited %d: %s%s", code, out.String(), errOut.String())
	}
}

// An upstream address that cannot be an issuer is refused before anything
// starts.
func TestBenchRefusesUpstreamAddress(t *testing.T) {
	for _, verb := range []string{"config", "login"} {
		for _, addr := range []string{":9000", "0.0.0.0:9000", "localhost:9000"} {
			var out, errOut bytes.Buffer
			code := run(context.Background(), []string{"bench", verb, "--upstream", addr}, &out, &errOut)
			if code != 1 || !strings.Contains(errOut.String(), "--upstream") {
				t.Errorf("bench %s --upstream %s exited %d: %s", verb, addr, code, errOut.String())
			}
		}
	}
}

// freeLoopbackAddr is a loopback address no one listens on at the moment.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// bench login drives a server registered with another app than bench
// config's, as it drives Dex: --client-id, --client-secret and
// --redirect-uri reach the app, --upstream-callback reaches the upstream
// (a wrong one fails every sign-in), and a server that starts after bench
// login is waited for.
func TestBenchLoginAgainstAnotherRegistration(t *testing.T) {
	dir := t.TempDir()
	sallyportAddr, upstreamAddr := freeLoopbackAddr(t), freeLoopbackAddr(t)
	issuer := "http://" + sallyportAddr
	var cfg, errOut bytes.Buffer
	if code := run(context.Background(), []string{"bench", "config", "--sallyport", issuer, "--upstream", upstreamAddr,
		"--database", "sqlite:" + filepath.Join(dir, "bench.db")}, &cfg, &errOut); code != 0 {
		t.Fatalf("bench config exited %d: %s", code, errOut.String())
	}
	yaml := strings.NewReplacer("id: bench-app", "id: other-app", "secret: bench-app-secret", "secret: other-app-secret",
		"http://127.0.0.1/bench/callback", "http://127.0.0.1/other/callback").Replace(cfg.String())
	if yaml == cfg.String() || strings.Contains(yaml, "bench-app") {
		t.Fatalf("the bench app's registration was not replaced:\n%s", yaml)
	}
	writeFile(t, filepath.Join(dir, "other.yaml"), yaml)

	login := func(upstreamCallback string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"bench", "login", "--sallyport", issuer, "--upstream", upstreamAddr,
			"-c", "1", "-d", "300ms", "--users", "2", "--no-warmup",
			"--client-id", "other-app", "--client-secret", "other-app-secret", "--redirect-uri", "http://127.0.0.1/other/callback",
			"--upstream-callback", upstreamCallback}, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	type result struct {
		code int
		out  string
	}
	first := make(chan result, 1)
	go func() {
		code, out := login(issuer + "/callback/bench")
		first <- result{code, out}
	}()
	// Sallyport starts only once bench login's upstream answers, as Dex
	// must: bench login's first look at Sallyport's discovery finds nothing
	// listening, and it waits.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + upstreamAddr + "/generic/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bench login's upstream did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling another goroutine's listener; no clock to inject
	}
	start(t, "cli", dir, "serve", "--config", "other.yaml")
	r := <-first
	if r.code != 0 || !strings.Contains(r.out, " 0 failed") {
		t.Fatalf("bench login against other-app exited %d:\n%s", r.code, r.out)
	}

	code, out := login(issuer + "/callback/elsewhere")
	if code != 1 || !strings.Contains(out, "GET upstream /generic/authorize answered 400") || !strings.Contains(out, "redirect_uri is not registered") {
		t.Errorf("bench login with a callback the upstream does not know exited %d; want 1 and the upstream's refusal:\n%s", code, out)
	}
}
