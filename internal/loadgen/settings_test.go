package loadgen

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sallyport/sallyport/internal/config"
)

// The file `sallyport bench config` prints loads back into exactly the
// settings the in-process runs use, so both measure the same Sallyport.
func TestSettingsRoundTrip(t *testing.T) {
	for _, db := range []string{"sqlite:./bench-data/sallyport.db", "postgres://postgres@127.0.0.1:5432/bench?sslmode=disable"} {
		t.Run(db, func(t *testing.T) {
			want, err := Setup{Issuer: "http://127.0.0.1:8080", Database: db, UpstreamIssuer: UpstreamIssuer("127.0.0.1:9000")}.Settings()
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteSettings(&buf, want); err != nil {
				t.Fatal(err)
			}
			got, err := config.LoadBytes(buf.Bytes(), "bench.yaml", func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatalf("the printed configuration does not load: %v\n%s", err, buf.String())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("loaded settings (-printed +loaded):\n%s", diff)
			}
		})
	}
}

func TestSettings(t *testing.T) {
	c, err := Setup{Issuer: "http://127.0.0.1:8080", UpstreamIssuer: UpstreamIssuer("127.0.0.1:9000")}.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.RateLimits.Enabled || !c.InsecureAllowPrivateNetworks || c.EncryptionKey == "" {
		t.Errorf("listen %q, rate limits %v, private networks %v, key set %v; want 127.0.0.1:8080, off, allowed, set",
			c.Listen, c.RateLimits.Enabled, c.InsecureAllowPrivateNetworks, c.EncryptionKey != "")
	}
	if len(c.Connections) != 1 || c.Connections[0].Issuer != "http://127.0.0.1:9000/generic" || !cmp.Equal(c.Connections[0].AllowedAlgs, []string{"ES256"}) {
		t.Errorf("connections = %+v, want the ES256 upstream at http://127.0.0.1:9000/generic", c.Connections)
	}
	if len(c.Clients) != 1 || !c.Clients[0].SkipConsent || c.Clients[0].RedirectURIs[0] != DefaultRedirectURI {
		t.Errorf("clients = %+v, want the bench app without consent", c.Clients)
	}
	if _, err := (Setup{Issuer: "127.0.0.1:8080"}).Settings(); err == nil {
		t.Error("an issuer without a scheme was accepted")
	}
}
