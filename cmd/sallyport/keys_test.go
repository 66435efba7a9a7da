package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeysListAndRotate(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "c.yaml"), fmt.Sprintf("listen: 127.0.0.1:0\ndatabase: sqlite:%s\nencryption_key: %s\n", filepath.Join(dir, "s.db"), newKey(t)))
	cli := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append(args, "--config", cfg), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, _, stderr := cli("keys", "list"); code == 0 || !strings.Contains(stderr, "sallyport migrate") {
		t.Fatalf("keys list on an unmigrated database: %d %q", code, stderr)
	}
	if code, _, stderr := cli("migrate"); code != 0 {
		t.Fatalf("migrate: %s", stderr)
	}
	if code, out, _ := cli("keys", "list"); code != 0 || !strings.Contains(out, "no signing keys yet") {
		t.Fatalf("keys list on an empty store: %d %q", code, out)
	}
	code, out, stderr := cli("keys", "rotate", "--alg", "ES256")
	if code != 0 || !strings.Contains(out, "published ES256 key") {
		t.Fatalf("keys rotate: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := cli("keys", "rotate", "--alg", "ES256"); code != 1 || !strings.Contains(stderr, "ES256") {
		t.Errorf("a second rotation while one waits: %d %q, want a refusal naming the waiting key", code, stderr)
	}
	code, out, _ = cli("keys", "list")
	if code != 0 || !strings.Contains(out, "ES256") || !strings.Contains(out, "next") {
		t.Fatalf("keys list after rotate: %d\n%s", code, out)
	}
	if strings.Contains(out, "PRIVATE") || strings.Contains(out, `"d"`) {
		t.Error("keys list shows key material")
	}
	if code, _, _ := cli("keys", "rotate", "--alg", "HS256"); code == 0 {
		t.Error("an unsupported algorithm was accepted")
	}
}
