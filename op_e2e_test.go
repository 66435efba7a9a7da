package sallyport

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// The server publishes the signing key it ensured at start, public part
// only, where apps look for it.
func TestJWKSPublishesTheSigningKey(t *testing.T) {
	h := newHarness(t, "", nil)
	resp, err := h.browser().Get(h.ts.URL + "/oauth2/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /oauth2/jwks: %d, %v", resp.StatusCode, err)
	}
	if len(set.Keys) != 1 || set.Keys[0].Algorithm != "RS256" || set.Keys[0].Use != "sig" || set.Keys[0].KeyID == "" || !set.Keys[0].IsPublic() {
		t.Fatalf("JWKS = %+v, want one public RS256 signing key with a kid", set.Keys)
	}
}
