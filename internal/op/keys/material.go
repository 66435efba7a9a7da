package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/go-jose/go-jose/v4"

	"github.com/sallyport/sallyport/internal/store"
)

// Thumbprint returns the RFC 7638 JWK thumbprint of a public key,
// base64url without padding: SHA-256 over the key's required JWK members in
// lexical order. It is every signing key's kid.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("keys: thumbprint: %w", err)
	}
	if len(sum) != sha256.Size {
		return "", fmt.Errorf("keys: thumbprint is %d bytes, want %d", len(sum), sha256.Size)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// aad is the additional data a private key is sealed with: it binds the
// ciphertext to its row, so a sealed key copied to another kid never opens.
func aad(kid string) []byte { return []byte("signing_key/" + kid) }

func generate(alg string, random io.Reader) (crypto.Signer, error) {
	switch alg {
	case RS256:
		return rsa.GenerateKey(random, RSABits)
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), random)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(random)
		return priv, err
	}
	return nil, unsupported(alg)
}

// fits reports whether pub is the kind of key alg signs with.
func fits(alg string, pub crypto.PublicKey) bool {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return alg == RS256 && p.N.BitLen() >= RSABits
	case *ecdsa.PublicKey:
		return alg == ES256 && p.Curve == elliptic.P256()
	case ed25519.PublicKey:
		return alg == EdDSA && len(p) == ed25519.PublicKeySize
	}
	return false
}

// newKey generates a key for alg and returns its record, private key
// sealed, with neither state nor times set. Generation (tens of
// milliseconds for RSA) happens here, outside any transaction.
func (m *Manager) newKey(alg string) (store.SigningKey, error) {
	priv, err := generate(alg, m.rand)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: generate %s key: %w", alg, err)
	}
	kid, err := Thumbprint(priv.Public())
	if err != nil {
		return store.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: encode %s key: %w", alg, err)
	}
	sealed, err := m.ring.Encrypt(der, aad(kid))
	clear(der)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: seal %s key: %w", alg, err)
	}
	pub, err := json.Marshal(publicJWK(priv.Public(), kid, alg))
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: encode %s public key: %w", alg, err)
	}
	return store.SigningKey{KID: kid, Alg: alg, PrivateKeyEnc: sealed, PublicJWK: pub}, nil
}

func publicJWK(pub crypto.PublicKey, kid, alg string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}
}

// parsePublic reads a stored public JWK and checks it against its row: a
// public key of the row's algorithm whose thumbprint is the row's kid. The
// result is rebuilt from the bare key, so no other member of the stored
// JSON can reach the JWKS.
func parsePublic(k store.SigningKey) (jose.JSONWebKey, error) {
	var stored jose.JSONWebKey
	if err := json.Unmarshal(k.PublicJWK, &stored); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("public key: %w", err)
	}
	if !stored.IsPublic() || !stored.Valid() {
		return jose.JSONWebKey{}, fmt.Errorf("public key is not a valid public key")
	}
	if !Supported(k.Alg) || !fits(k.Alg, stored.Key) {
		return jose.JSONWebKey{}, fmt.Errorf("public key does not fit algorithm %q", k.Alg)
	}
	kid, err := Thumbprint(stored.Key)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	if kid != k.KID {
		return jose.JSONWebKey{}, fmt.Errorf("public key's thumbprint %s is not its kid", kid)
	}
	return publicJWK(stored.Key, k.KID, k.Alg), nil
}

// Signer signs JWTs with one key. It is safe for concurrent use.
type Signer struct {
	kid, alg string
	js       jose.Signer // typ JWT: ID tokens
	at       jose.Signer // typ at+jwt: access tokens (RFC 9068 §2.1)
}

// KID is the key's id, carried in every header it signs.
func (s *Signer) KID() string { return s.kid }

// Alg is the key's algorithm: RS256, ES256 or EdDSA.
func (s *Signer) Alg() string { return s.alg }

// Sign marshals claims to JSON and returns them as a compact JWS whose
// protected header holds alg, kid and typ "JWT".
func (s *Signer) Sign(claims any) (string, error) { return s.sign(s.js, claims) }

// SignAccessToken is Sign with typ "at+jwt" (RFC 9068 §2.1), so that an
// access token can never be taken for an ID token signed by the same key.
func (s *Signer) SignAccessToken(claims any) (string, error) { return s.sign(s.at, claims) }

func (s *Signer) sign(js jose.Signer, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("keys: encode claims: %w", err)
	}
	jws, err := js.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("keys: sign with %s: %w", s.kid, err)
	}
	return jws.CompactSerialize()
}

// signerFor returns the signer of an active key, decrypting it the first
// time. The key is checked against its kid, so a private key that does not
// belong to the published public key never signs.
func (m *Manager) signerFor(k store.SigningKey) (*Signer, error) {
	m.mu.Lock()
	s := m.signers[k.KID]
	m.mu.Unlock()
	if s != nil {
		return s, nil
	}
	der, err := m.ring.Decrypt(k.PrivateKeyEnc, aad(k.KID))
	if err != nil {
		return nil, fmt.Errorf("keys: open %s key %s: %w", k.Alg, k.KID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("keys: decode %s key %s: %w", k.Alg, k.KID, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok || !fits(k.Alg, priv.Public()) {
		return nil, fmt.Errorf("keys: key %s is a %T, not an %s key", k.KID, parsed, k.Alg)
	}
	if kid, err := Thumbprint(priv.Public()); err != nil || kid != k.KID {
		return nil, fmt.Errorf("keys: private key stored as %s does not match its kid", k.KID)
	}
	sk := jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Alg), Key: jose.JSONWebKey{Key: priv, KeyID: k.KID, Algorithm: k.Alg}}
	js, err := jose.NewSigner(sk, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("keys: signer for %s: %w", k.KID, err)
	}
	at, err := jose.NewSigner(sk, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return nil, fmt.Errorf("keys: signer for %s: %w", k.KID, err)
	}
	s = &Signer{kid: k.KID, alg: k.Alg, js: js, at: at}
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev := m.signers[k.KID]; prev != nil {
		return prev, nil
	}
	m.signers[k.KID] = s
	return s, nil
}
