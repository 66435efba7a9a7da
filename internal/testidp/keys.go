package testidp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// signingKey is one of a persona's keys. It never changes once made.
type signingKey struct {
	alg  string
	kid  string
	priv crypto.Signer
}

func newSigningKey(alg string) (*signingKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		alg = RS256
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return nil, fmt.Errorf("testidp: generate %s key: %w", alg, err)
	}
	jwk := jose.JSONWebKey{Key: priv.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("testidp: key thumbprint: %w", err)
	}
	return &signingKey{alg: alg, kid: b64(tp), priv: priv}, nil
}

// jwk returns the public key as a JWK object, with extra members.
func (k *signingKey) jwk(extra map[string]any) (map[string]any, error) {
	b, err := jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("testidp: marshal JWK: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("testidp: marshal JWK: %w", err)
	}
	for k, v := range extra {
		m[k] = v
	}
	return m, nil
}

// publicPEM is the PKIX public key in PEM: the bytes a key-confusion
// attacker uses as an HMAC secret.
func (k *signingKey) publicPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		panic("testidp: marshal public key: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// signRaw signs header.payload with key for alg (RS256, ES256 or HS256
// with hmacKey) and returns the signature.
func signRaw(alg string, key crypto.Signer, hmacKey, input []byte) ([]byte, error) {
	sum := sha256.Sum256(input)
	switch alg {
	case RS256:
		return rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	case ES256:
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			return nil, err
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	case "HS256":
		m := hmac.New(sha256.New, hmacKey)
		m.Write(input)
		return m.Sum(nil), nil
	case "none":
		return nil, nil
	}
	return nil, fmt.Errorf("testidp: cannot sign with %q", alg)
}

// compact builds a compact JWS.
func compact(header, claims map[string]any, alg string, key crypto.Signer, hmacKey []byte) (string, error) {
	hb, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("testidp: marshal JWS header: %w", err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("testidp: marshal claims: %w", err)
	}
	input := b64(hb) + "." + b64(cb)
	sig, err := signRaw(alg, key, hmacKey, []byte(input))
	if err != nil {
		return "", fmt.Errorf("testidp: sign: %w", err)
	}
	return input + "." + b64(sig), nil
}

// currentKey returns the key that signs, making the first one on demand
// (RSA key generation is slow enough to put off until a persona is used).
// The caller holds IdP.mu.
func (per *persona) currentKey() (*signingKey, error) {
	if len(per.keys) == 0 {
		k, err := newSigningKey(per.alg)
		if err != nil {
			return nil, err
		}
		per.keys = append(per.keys, k)
	}
	return per.keys[len(per.keys)-1], nil
}

// publishedKeys returns the keys the JWKS lists. The caller holds IdP.mu.
func (per *persona) publishedKeys() ([]*signingKey, error) {
	if _, err := per.currentKey(); err != nil {
		return nil, err
	}
	keys := append([]*signingKey(nil), per.keys...)
	if per.rogue != nil && per.rogueSigned && per.mis.UnknownKID == UnknownKIDRefetch {
		keys = append(keys, per.rogue)
	}
	return keys, nil
}

// signJWT signs claims as the persona would today, misbehaviour
// included. The caller holds IdP.mu.
func (per *persona) signJWT(claims map[string]any) (string, error) {
	cur, err := per.currentKey()
	if err != nil {
		return "", err
	}
	m := per.mis
	switch {
	case m.AlgNone:
		return compact(map[string]any{"alg": "none", "typ": "JWT"}, claims, "none", nil, nil)
	case m.HMACWithPublicKey:
		return compact(map[string]any{"alg": "HS256", "typ": "JWT", "kid": cur.kid}, claims, "HS256", nil, cur.publicPEM())
	}
	key := cur
	if m.UnknownKID != 0 {
		if per.rogue == nil {
			if per.rogue, err = newSigningKey(per.alg); err != nil {
				return "", err
			}
			per.rogueSigned = false
		}
		key = per.rogue
		per.rogueSigned = true
	}
	tok, err := compact(map[string]any{"alg": key.alg, "typ": "JWT", "kid": key.kid}, claims, key.alg, key.priv, nil)
	if err != nil {
		return "", err
	}
	if m.BadSignature {
		tok = corruptSignature(tok)
	}
	return tok, nil
}

// corruptSignature flips one bit of a compact JWS's signature.
func corruptSignature(tok string) string {
	i := len(tok) - 1
	for tok[i] != '.' {
		i--
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil || len(sig) == 0 {
		return tok
	}
	sig[len(sig)/2] ^= 0x01
	return tok[:i+1] + b64(sig)
}

// atHash is OIDC Core §3.1.3.6: the left half of SHA-256 (every alg used
// here hashes with SHA-256).
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return b64(sum[:16])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
