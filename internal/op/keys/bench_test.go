package keys_test

import (
	"path/filepath"
	"testing"

	"github.com/sallyport/sallyport/internal/op/keys"
)

// BenchmarkSign signs an ID-token-sized claims set with each algorithm: the
// one signature a sign-in may cost (issue 4's budget: about 0.9 ms for
// RS256 on the reference machine).
func BenchmarkSign(b *testing.B) {
	m := benchManager(b)
	claims := idTokenClaims()
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			s, err := m.Signer(ctx, alg)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.Sign(claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSigner is the per-token look-up of the active key: a cache hit.
func BenchmarkSigner(b *testing.B) {
	m := benchManager(b)
	for b.Loop() {
		if _, err := m.Signer(ctx, keys.RS256); err != nil {
			b.Fatal(err)
		}
	}
}

// benchManager is a Manager on SQLite with a key of every algorithm.
func benchManager(b *testing.B) *keys.Manager {
	path := filepath.Join(b.TempDir(), "keys.db")
	e := newEnv(b, "sqlite:"+path, path)
	m := e.manager(e.open(b))
	must(b, m.Ensure(ctx, keys.ES256, keys.EdDSA))
	return m
}
