package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	_ "crypto/sha256" // the hashes at_hash may name
	_ "crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sallyport/sallyport/internal/outcome"
)

// DefaultSkew is the clock skew allowed on exp, iat and nbf (DESIGN.md §7).
const DefaultSkew = 60 * time.Second

// maxSubjectLen is OIDC Core §2's limit on sub: 255 ASCII characters.
const maxSubjectLen = 255

// algSpec is what an allowed signature algorithm needs.
type algSpec struct {
	hash crypto.Hash    // for at_hash: the algorithm's own hash (EdDSA: SHA-512)
	hmac bool           // keyed with the client secret, never from a JWKS
	fits func(any) bool // the public key types it verifies with
}

func isRSA(k any) bool {
	pk, ok := k.(*rsa.PublicKey)
	return ok && pk.N.BitLen() >= minRSABits
}

func isEC(c elliptic.Curve) func(any) bool {
	return func(k any) bool {
		pk, ok := k.(*ecdsa.PublicKey)
		return ok && pk.Curve == c
	}
}

func isEd25519(k any) bool { _, ok := k.(ed25519.PublicKey); return ok }

// algTable lists every algorithm a connection may allow. "none" is not one.
var algTable = map[string]algSpec{
	"RS256": {crypto.SHA256, false, isRSA},
	"RS384": {crypto.SHA384, false, isRSA},
	"RS512": {crypto.SHA512, false, isRSA},
	"PS256": {crypto.SHA256, false, isRSA},
	"PS384": {crypto.SHA384, false, isRSA},
	"PS512": {crypto.SHA512, false, isRSA},
	"ES256": {crypto.SHA256, false, isEC(elliptic.P256())},
	"ES384": {crypto.SHA384, false, isEC(elliptic.P384())},
	"ES512": {crypto.SHA512, false, isEC(elliptic.P521())},
	"EdDSA": {crypto.SHA512, false, isEd25519},
	"HS256": {crypto.SHA256, true, nil},
	"HS384": {crypto.SHA384, true, nil},
	"HS512": {crypto.SHA512, true, nil},
}

// IsHMAC reports whether alg is HS256, HS384 or HS512.
func IsHMAC(alg string) bool { return algTable[alg].hmac }

// VerifierConfig configures a [Verifier].
type VerifierConfig struct {
	// Issuer is the expected iss, byte for byte. Required unless
	// IssuerCheck is set.
	Issuer string
	// IssuerCheck, when set, replaces the byte-exact comparison with
	// Issuer: it gets iss, the signature-verified claims and the key that
	// verified them (nil for HMAC) and returns an error to refuse. The
	// microsoft preset checks Entra's {tenantid} template with it.
	IssuerCheck func(iss string, c Claims, key *Key) error
	// ClientID is Sallyport's client id: aud must contain it. Required.
	ClientID string
	// ClientSecret keys HS256/384/512 (OIDC Core §10.1), only when Algs
	// lists them; it must be at least as long as the hash.
	ClientSecret string
	// Algs is the allow-list of header algs. Required; never "none".
	Algs []string
	// Keys finds public keys by kid; required unless Algs are all HMAC.
	Keys KeySource
	// TrustedAudiences may appear in aud beside ClientID; any other
	// audience is refused. Empty trusts none.
	TrustedAudiences []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Skew is the leeway on exp, iat and nbf; zero means DefaultSkew.
	Skew time.Duration
}

// VerifyOptions are what one flow knows about its ID token.
type VerifyOptions struct {
	// Nonce is the nonce the flow sent. Required: the token must carry it.
	Nonce string
	// AccessToken is the access token issued with the ID token; at_hash,
	// when present, must match it. Empty skips the at_hash check.
	AccessToken string
}

// Verifier checks ID tokens from one upstream.
type Verifier struct {
	cfg      VerifierConfig
	joseAlgs []jose.SignatureAlgorithm
}

// NewVerifier checks cfg and returns a Verifier.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("oidc: verifier: ClientID is required")
	}
	if cfg.Issuer == "" && cfg.IssuerCheck == nil {
		return nil, errors.New("oidc: verifier: Issuer or IssuerCheck is required")
	}
	if len(cfg.Algs) == 0 {
		return nil, errors.New("oidc: verifier: no algorithm is allowed")
	}
	v := &Verifier{cfg: cfg}
	for _, a := range cfg.Algs {
		spec, ok := algTable[a]
		switch {
		case !ok:
			return nil, fmt.Errorf("oidc: verifier: algorithm %q is not supported (none never is)", a)
		case spec.hmac && len(cfg.ClientSecret) < spec.hash.Size():
			return nil, fmt.Errorf("oidc: verifier: %s needs a client secret of at least %d bytes as its key", a, spec.hash.Size())
		case !spec.hmac && cfg.Keys == nil:
			return nil, fmt.Errorf("oidc: verifier: %s needs a key set", a)
		}
		if !slices.Contains(v.joseAlgs, jose.SignatureAlgorithm(a)) {
			v.joseAlgs = append(v.joseAlgs, jose.SignatureAlgorithm(a))
		}
	}
	if v.cfg.Now == nil {
		v.cfg.Now = time.Now
	}
	if v.cfg.Skew <= 0 {
		v.cfg.Skew = DefaultSkew
	}
	return v, nil
}

// Verify checks a raw ID token and returns its claims. In order: the
// header alg is on the allow-list; the key is found by kid (never by alg;
// HMAC is keyed by the client secret and never by JWKS material) and fits
// the alg; the signature verifies; iss is the issuer; sub is a non-empty
// string of at most 255 bytes; aud contains ClientID and nothing
// untrusted; azp, required when aud has several values, is ClientID; exp,
// iat and nbf hold within Skew; the nonce is the flow's; at_hash, when
// present, matches AccessToken.
//
// Errors are *outcome.Error: identity_invalid wrapping one of the Err…
// causes, or code_exchange_failed wrapping [ErrJWKS] when the provider's
// keys cannot be fetched at all.
func (v *Verifier) Verify(ctx context.Context, raw string, opts VerifyOptions) (Claims, error) {
	c, alg, key, err := v.verifySignature(ctx, raw)
	if err != nil {
		return nil, failure(err)
	}
	if err := v.checkIDClaims(c, alg, key, opts); err != nil {
		return nil, failure(err)
	}
	return c, nil
}

// failure turns a cause into the outcome a person gets.
func failure(err error) error {
	if errors.Is(err, ErrJWKS) {
		return outcome.Wrap(outcome.CodeExchangeFailed, err)
	}
	return outcome.Wrap(outcome.IdentityInvalid, err)
}

// verifySignature parses a compact JWS with the allowed algorithms, finds
// its key and verifies it. It returns the claims, the header alg and the
// key (nil for HMAC).
func (v *Verifier) verifySignature(ctx context.Context, raw string) (Claims, string, *Key, error) {
	tok, err := jwt.ParseSigned(raw, v.joseAlgs)
	if err != nil {
		var ua *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &ua) {
			return nil, "", nil, fmt.Errorf("%w: header alg %q; allowed: %s", ErrAlgorithm, ua.Got, strings.Join(v.cfg.Algs, ", "))
		}
		return nil, "", nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(tok.Headers) != 1 {
		return nil, "", nil, fmt.Errorf("%w: %d signatures", ErrMalformed, len(tok.Headers))
	}
	h := tok.Headers[0]
	alg := h.Algorithm
	spec, ok := algTable[alg]
	if !ok || !slices.Contains(v.cfg.Algs, alg) { // ParseSigned already refused these
		return nil, "", nil, fmt.Errorf("%w: header alg %q", ErrAlgorithm, alg)
	}
	var verifyWith any
	var key *Key
	if spec.hmac {
		verifyWith = []byte(v.cfg.ClientSecret)
	} else {
		if key, err = v.cfg.Keys.Key(ctx, h.KeyID); err != nil {
			return nil, "", nil, err
		}
		if key.Algorithm != "" && key.Algorithm != alg {
			return nil, "", nil, fmt.Errorf("%w: header alg %s, but the JWK with kid %q is for %s", ErrKeyType, alg, h.KeyID, key.Algorithm)
		}
		if !spec.fits(key.Key) {
			return nil, "", nil, fmt.Errorf("%w: header alg %s, but the key with kid %q is a %s", ErrKeyType, alg, h.KeyID, keyKind(key.Key))
		}
		verifyWith = key.Key
	}
	if err := tok.Claims(verifyWith); err != nil { // no destination: verifies only
		return nil, "", nil, fmt.Errorf("%w: %s, kid %q: %w", ErrSignature, alg, h.KeyID, err)
	}
	var c Claims
	// The signature was verified just above; this decodes the same payload.
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil || c == nil {
		return nil, "", nil, fmt.Errorf("%w: the payload is not a JSON object", ErrMalformed)
	}
	return c, alg, key, nil
}

// keyKind names a key's type for messages.
func keyKind(k any) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("%d-bit RSA key", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC " + k.Curve.Params().Name + " key"
	case ed25519.PublicKey:
		return "Ed25519 key"
	}
	return fmt.Sprintf("%T", k)
}

// checkIssuer applies IssuerCheck, or the byte-exact comparison.
func (v *Verifier) checkIssuer(c Claims, key *Key) error {
	iss, ok := c["iss"].(string)
	if !ok {
		return fmt.Errorf("%w: iss is missing or not a string", ErrIssuer)
	}
	if v.cfg.IssuerCheck != nil {
		if err := v.cfg.IssuerCheck(iss, c, key); err != nil {
			if errors.Is(err, ErrIssuer) {
				return err
			}
			return fmt.Errorf("%w: %w", ErrIssuer, err)
		}
		return nil
	}
	if iss != v.cfg.Issuer {
		return fmt.Errorf("%w: got %q, want %q (byte for byte)", ErrIssuer, iss, v.cfg.Issuer)
	}
	return nil
}

// checkAudience: aud contains ClientID and nothing untrusted; azp is
// ClientID when present, and must be present when aud has several values.
func (v *Verifier) checkAudience(c Claims) error {
	aud, err := c.Audience()
	if err != nil {
		return err
	}
	if !slices.Contains(aud, v.cfg.ClientID) {
		return fmt.Errorf("%w: aud %q does not contain our client id %q", ErrAudience, aud, v.cfg.ClientID)
	}
	for _, a := range aud {
		if a != v.cfg.ClientID && !slices.Contains(v.cfg.TrustedAudiences, a) {
			return fmt.Errorf("%w: aud contains the untrusted audience %q", ErrAudience, a)
		}
	}
	azp, present := c["azp"]
	switch {
	case !present && len(aud) > 1:
		return fmt.Errorf("%w: aud has %d values and azp is missing", ErrAuthorizedParty, len(aud))
	case present && azp != v.cfg.ClientID:
		return fmt.Errorf("%w: azp is %q, not our client id %q", ErrAuthorizedParty, fmt.Sprint(azp), v.cfg.ClientID)
	}
	return nil
}

// checkIDClaims runs every check after the signature's.
func (v *Verifier) checkIDClaims(c Claims, alg string, key *Key, opts VerifyOptions) error {
	if err := v.checkIssuer(c, key); err != nil {
		return err
	}
	sub, ok := c["sub"].(string)
	if !ok || sub == "" || len(sub) > maxSubjectLen {
		return fmt.Errorf("%w: sub must be a string of 1 to %d bytes", ErrSubject, maxSubjectLen)
	}
	if err := v.checkAudience(c); err != nil {
		return err
	}

	now, skew := v.cfg.Now(), v.cfg.Skew
	exp, ok, err := c.Time("exp")
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("%w: exp is missing", ErrExpired)
	case !now.Before(exp.Add(skew)):
		return fmt.Errorf("%w: exp %s is %s before now, beyond the %s skew", ErrExpired, exp.UTC().Format(time.RFC3339), now.Sub(exp).Round(time.Second), skew)
	}
	iat, ok, err := c.Time("iat")
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("%w: iat is missing", ErrMalformed)
	case iat.After(now.Add(skew)):
		return fmt.Errorf("%w: iat %s is %s after now, beyond the %s skew", ErrIssuedInFuture, iat.UTC().Format(time.RFC3339), iat.Sub(now).Round(time.Second), skew)
	}
	nbf, ok, err := c.Time("nbf")
	switch {
	case err != nil:
		return err
	case ok && nbf.After(now.Add(skew)):
		return fmt.Errorf("%w: nbf %s is %s after now, beyond the %s skew", ErrNotYetValid, nbf.UTC().Format(time.RFC3339), nbf.Sub(now).Round(time.Second), skew)
	}

	if opts.Nonce == "" {
		return fmt.Errorf("%w: the flow has no nonce to compare with", ErrNonce)
	}
	nonce, present := c["nonce"]
	got, isString := nonce.(string)
	switch {
	case !present:
		return fmt.Errorf("%w: the token carries no nonce", ErrNonce)
	case !isString || subtle.ConstantTimeCompare([]byte(got), []byte(opts.Nonce)) != 1:
		return fmt.Errorf("%w: the token's nonce is not the one this flow sent", ErrNonce)
	}

	if ah, present := c["at_hash"]; present && opts.AccessToken != "" {
		got, _ := ah.(string)
		want := AtHash(algTable[alg].hash, opts.AccessToken)
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return fmt.Errorf("%w: at_hash is not the %s hash of the access token issued with it", ErrAtHash, algTable[alg].hash)
		}
	}
	return nil
}

// AtHash is OIDC Core §3.1.3.6's at_hash of an access token: the base64url
// left half of its hash with h, the hash of the ID token's alg (SHA-256 for
// *256, SHA-384, SHA-512; SHA-512 for EdDSA).
func AtHash(h crypto.Hash, accessToken string) string {
	d := h.New()
	d.Write([]byte(accessToken))
	sum := d.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// verifyUserinfoJWT checks a signed userinfo answer (OIDC Core §5.3.2): the
// signature as for ID tokens, and iss and aud when present.
func (v *Verifier) verifyUserinfoJWT(ctx context.Context, raw string) (Claims, error) {
	c, _, key, err := v.verifySignature(ctx, raw)
	if err != nil {
		return nil, err
	}
	if _, ok := c["iss"]; ok {
		if err := v.checkIssuer(c, key); err != nil {
			return nil, err
		}
	}
	if _, ok := c["aud"]; ok {
		if err := v.checkAudience(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}
