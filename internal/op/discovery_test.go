package op

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestDiscoveryDocument keeps the metadata apps read in a golden file: a
// change to what the provider advertises (an algorithm, an auth method,
// plain PKCE) shows up in review as a diff of testdata/discovery.json.
func TestDiscoveryDocument(t *testing.T) {
	got, err := discoveryDocument("https://sso.example.com")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "discovery.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("discovery document (-%s +got); run go test -update if the change is intended:\n%s", golden, diff)
	}

	// The endpoint serves the document as built, under the issuer's
	// own URL.
	p := &Provider{discovery: got}
	rec := httptest.NewRecorder()
	p.handleDiscovery(rec, httptest.NewRequest(http.MethodGet, "https://sso.example.com"+DiscoveryPath, nil))
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), got) || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("GET %s = %d %q, want the document as JSON", DiscoveryPath, rec.Code, rec.Header().Get("Content-Type"))
	}
}
