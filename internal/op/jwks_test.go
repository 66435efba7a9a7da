package op

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

type fixedKeys struct {
	set jose.JSONWebKeySet
	err error
}

func (f fixedKeys) JWKS(context.Context) (jose.JSONWebKeySet, error) { return f.set, f.err }

func TestJWKSHandler(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}}
	ts := httptest.NewServer(JWKSHandler(fixedKeys{set: set}, nil))
	defer ts.Close()
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/jwk-set+json" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "max-age=3600") {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	var got jose.JSONWebKeySet
	if err := json.Unmarshal(body, &got); err != nil || len(got.Keys) != 1 || got.Keys[0].KeyID != "k1" {
		t.Fatalf("body %s: %v", body, err)
	}
	if strings.Contains(string(body), `"d"`) {
		t.Error("the JWKS carries a private member")
	}

	failing := httptest.NewServer(JWKSHandler(fixedKeys{err: errors.New("db down")}, nil))
	defer failing.Close()
	resp, err = http.Get(failing.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("failure: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
