package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
