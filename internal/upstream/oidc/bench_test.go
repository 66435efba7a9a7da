package oidc_test

import (
	"testing"

	"github.com/sallyport/sallyport/internal/upstream/oidc"
)

// BenchmarkVerify verifies one valid RS256 ID token from testidp with a
// Verifier composed from the exported parts, keys cached.
func BenchmarkVerify(b *testing.B) {
	e := newEnv(b, envOpts{})
	p := e.provider(e.config())
	r, err := p.Redeem(b.Context(), e.callback(p))
	if err != nil {
		b.Fatal(err)
	}
	d, err := oidc.Discover(b.Context(), e.client, e.issuer)
	if err != nil {
		b.Fatal(err)
	}
	v, err := oidc.NewVerifier(oidc.VerifierConfig{
		Issuer: d.Issuer, ClientID: clientID, Algs: oidc.DefaultAlgs, Now: e.clock.Now,
		Keys: oidc.NewKeySet(oidc.KeySetConfig{URL: d.JWKSURI, HTTPClient: e.client, Now: e.clock.Now}),
	})
	if err != nil {
		b.Fatal(err)
	}
	opts := oidc.VerifyOptions{Nonce: r.IDTokenClaims.String("nonce"), AccessToken: r.Token.AccessToken}
	if _, err := v.Verify(b.Context(), r.IDToken, opts); err != nil { // fetches the JWKS
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(b.Context(), r.IDToken, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExchange redeems a code against testidp over loopback HTTP and
// verifies the ID token: the callback half of a sign-in (the authorize
// step that mints each code is not timed).
func BenchmarkExchange(b *testing.B) {
	e := newEnv(b, envOpts{})
	p := e.provider(e.config())
	if _, err := e.login(p); err != nil { // warm the JWKS and connections
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		cb := e.callback(p)
		b.StartTimer()
		if _, err := p.Exchange(b.Context(), cb); err != nil {
			b.Fatal(err)
		}
	}
}
