// Package op is Sallyport's OpenID Provider for apps. Its endpoints are
// plain http.Handlers that the server mounts; it never imports the web
// package.
package op

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeySet is what the JWKS endpoint needs from the signing keys
// (internal/op/keys.Manager).
type KeySet interface {
	JWKS(ctx context.Context) (jose.JSONWebKeySet, error)
}

// JWKSMaxAge is how long apps may cache the JWKS. It must stay well under
// the rotation delay (24 h) minus the key cache TTL, so every app has
// fetched a new key before it starts signing; an hour leaves ample room.
const JWKSMaxAge = time.Hour

// JWKSHandler serves the public signing keys (RFC 7517) at /oauth2/jwks.
// A failure answers 503: apps keep their cached keys and try again.
func JWKSHandler(keys KeySet, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set, err := keys.JWKS(r.Context())
		if err != nil {
			log.Error("loading the JWKS failed", "err", err)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "signing keys unavailable", http.StatusServiceUnavailable)
			return
		}
		body, err := json.Marshal(set)
		if err != nil {
			http.Error(w, "signing keys unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(JWKSMaxAge.Seconds())))
		w.Header().Set("Access-Control-Allow-Origin", "*") // public keys; browser apps verify tokens too
		w.Write(body)
	})
}
