package clients

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"

	"github.com/sallyport/sallyport/internal/store"
)

// secretBytes is the size of a generated client secret (DESIGN.md §3: 32
// random bytes, shown once).
const secretBytes = 32

// newSecret returns a fresh client secret, base64url without padding (43
// characters: it goes in HTTP Basic credentials and form bodies unescaped),
// and the hash to store in its place.
func newSecret() (secret string, hash []byte) {
	b := make([]byte, secretBytes)
	rand.Read(b) // never fails: crypto/rand aborts the program rather than return short
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret)
}

// hashSecret is the one way a client secret becomes what the store keeps.
//
// SHA-256, not argon2id: a generated secret carries 256 bits of entropy, so
// nobody can guess it from its hash however fast the hash is, and a slow
// hash would only add tens of milliseconds and a bounded pool of memory to
// every token request of every confidential client — the hot path. Secrets
// chosen by an operator in the configuration file are hashed the same way,
// so one comparison serves every client; the operator must choose them as
// long and random as ours (openssl rand -base64 32).
func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// VerifySecret reports whether presented is c's secret. It compares the
// hashes in constant time, so the time taken reveals nothing of the stored
// hash, and it refuses every public client (it has no secret to present)
// and every disabled client.
func VerifySecret(c store.Client, presented string) bool {
	if c.Public || c.Disabled || presented == "" || len(c.SecretHash) != sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare(hashSecret(presented), c.SecretHash) == 1
}
