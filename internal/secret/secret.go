// Package secret seals Sallyport's secrets at rest (connection client
// secrets, TOTP seeds, signing and DPoP keys, PKCE verifiers, upstream
// tokens) with AES-256-GCM under a key ring.
//
// A ring holds one or more 32-byte keys, newest first. The newest key seals;
// every key opens, so an operator rotates by putting a new key in front of
// the old one, re-encrypting (see [KeyRing.NeedsReencrypt]) and only then
// dropping the old key.
//
// A ciphertext is
//
//	version (1 byte) | key id (4 bytes) | nonce (12 bytes) | GCM ciphertext and tag
//
// The key id is derived from the key itself, so it is stable across
// restarts and replicas and names the key in errors and logs without
// revealing it. The version byte and key id are authenticated together with
// the caller's additional data, which binds a ciphertext to its purpose and
// record ("connection/<id>/client_secret"): a ciphertext copied into another
// row or column does not open.
package secret

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// KeySize is the length of every key in a ring: AES-256.
const KeySize = 32

const (
	version   byte = 1
	idSize         = 4
	nonceSize      = 12
	headSize       = 1 + idSize
	// Overhead is how many bytes Encrypt adds to a plaintext.
	Overhead = headSize + nonceSize + 16
)

// idLabel separates key ids from any other use of SHA-256 over the key, so
// the id can never be mistaken for (or help compute) anything else.
const idLabel = "sallyport secret key id v1\x00"

// Errors Decrypt returns, wrapped with detail; callers branch with errors.Is.
var (
	// ErrUnknownKey: the ciphertext was sealed by a key that is not in the
	// ring (a key was dropped too early, or the wrong ring is configured).
	ErrUnknownKey = errors.New("secret: unknown key")
	// ErrDecrypt: the ciphertext is malformed, was tampered with, or is
	// opened with different additional data than it was sealed with.
	ErrDecrypt = errors.New("secret: cannot decrypt")
)

type ringKey struct {
	id   [idSize]byte
	aead cipher.AEAD
}

// KeyRing seals with its newest key and opens with any of its keys. It is
// safe for concurrent use. It never exposes its keys: printing a KeyRing
// shows only the key ids.
type KeyRing struct {
	keys []ringKey // newest first
	rand io.Reader
}

// NewKeyRing builds a ring from raw 32-byte keys, newest first. Nonces are
// read from rand; nil means crypto/rand (tests pass a deterministic reader).
// The ring keeps no reference to the key slices.
func NewKeyRing(keys [][]byte, rand io.Reader) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret: the key ring is empty: give at least one 32-byte key")
	}
	if rand == nil {
		rand = cryptoRand
	}
	ring := &KeyRing{keys: make([]ringKey, 0, len(keys)), rand: rand}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("secret: key %d of %d is %d bytes, want %d", i+1, len(keys), len(k), KeySize)
		}
		for j := range i {
			if bytes.Equal(keys[j], k) {
				return nil, fmt.Errorf("secret: key %d of %d repeats key %d", i+1, len(keys), j+1)
			}
		}
		id := keyID(k)
		for j, prev := range ring.keys {
			// Two different keys with the same 32-bit id: astronomically
			// unlikely, but Decrypt would pick the wrong one, so refuse.
			if prev.id == id {
				return nil, fmt.Errorf("secret: keys %d and %d share the id %x; generate a new key", j+1, i+1, id)
			}
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d: %w", i+1, err)
		}
		ring.keys = append(ring.keys, ringKey{id: id, aead: aead})
	}
	return ring, nil
}

// cryptoRand is the default source of nonces and keys.
var cryptoRand io.Reader = rand.Reader

// ParseKeyRing reads a ring from configuration: one or more base64 keys
// (standard or URL alphabet, padded or not) separated by commas, newest
// first, with spaces around each key ignored. Errors name the position of a
// bad key, never its value.
func ParseKeyRing(s string) (*KeyRing, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("secret: the key ring is empty: give at least one base64 32-byte key (generate one with `openssl rand -base64 32`)")
	}
	parts := strings.Split(s, ",")
	keys := make([][]byte, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("secret: key %d of %d is empty (a stray comma?)", i+1, len(parts))
		}
		k, err := decodeKey(p)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d of %d is not base64", i+1, len(parts))
		}
		keys = append(keys, k)
	}
	return NewKeyRing(keys, nil)
}

// decodeKey accepts each base64 flavour people paste: openssl and Go's
// StdEncoding write padded standard base64, URL-safe tools write "-" and "_".
func decodeKey(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		var k []byte
		if k, err = enc.Strict().DecodeString(s); err == nil {
			return k, nil
		}
	}
	return nil, err
}

// GenerateKey returns a new key as padded standard base64, ready for the
// encryption_key setting. rand nil means crypto/rand.
func GenerateKey(rand io.Reader) (string, error) {
	if rand == nil {
		rand = cryptoRand
	}
	k := make([]byte, KeySize)
	if _, err := io.ReadFull(rand, k); err != nil {
		return "", fmt.Errorf("secret: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k), nil
}

// keyID is the first bytes of SHA-256(label || key): stable, and useless for
// recovering the key.
func keyID(k []byte) [idSize]byte {
	h := sha256.New()
	h.Write([]byte(idLabel))
	h.Write(k)
	var id [idSize]byte
	copy(id[:], h.Sum(nil))
	return id
}

// KeyIDs lists the ring's key ids in hex, newest (the sealing key) first,
// for logs and `sallyport keys list`.
func (r *KeyRing) KeyIDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = hex.EncodeToString(k.id[:])
	}
	return ids
}

// String shows the key ids only, so a ring that lands in a log or a
// %v format never prints key material.
func (r *KeyRing) String() string {
	return "secret.KeyRing" + fmt.Sprint(r.KeyIDs())
}

// GoString is String: %#v must not dump the cipher state either.
func (r *KeyRing) GoString() string { return r.String() }

// Encrypt seals plaintext with the newest key. aad names what the secret is
// and which record it belongs to (e.g. "connection/<id>/client_secret");
// Decrypt must be given the same aad. aad is authenticated, not stored.
func (r *KeyRing) Encrypt(plaintext, aad []byte) ([]byte, error) {
	k := r.keys[0]
	out := make([]byte, headSize+nonceSize, Overhead+len(plaintext))
	out[0] = version
	copy(out[1:headSize], k.id[:])
	nonce := out[headSize : headSize+nonceSize]
	if _, err := io.ReadFull(r.rand, nonce); err != nil {
		return nil, fmt.Errorf("secret: read nonce: %w", err)
	}
	return k.aead.Seal(out, nonce, plaintext, additional(out[:headSize], aad)), nil
}

// Decrypt opens a ciphertext from Encrypt with whichever key of the ring
// sealed it. It fails with [ErrUnknownKey] when that key is not in the ring
// and with [ErrDecrypt] when the ciphertext or aad does not match.
func (r *KeyRing) Decrypt(ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) < Overhead {
		return nil, fmt.Errorf("%w: ciphertext is %d bytes, shorter than the %d-byte minimum", ErrDecrypt, len(ciphertext), Overhead)
	}
	if ciphertext[0] != version {
		return nil, fmt.Errorf("%w: unsupported format version %d", ErrDecrypt, ciphertext[0])
	}
	var id [idSize]byte
	copy(id[:], ciphertext[1:headSize])
	k, ok := r.find(id)
	if !ok {
		return nil, fmt.Errorf("%w %x: add it back to the key ring to read this value", ErrUnknownKey, id)
	}
	nonce := ciphertext[headSize : headSize+nonceSize]
	pt, err := k.aead.Open(nil, nonce, ciphertext[headSize+nonceSize:], additional(ciphertext[:headSize], aad))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed under key %x (tampered, or wrong additional data)", ErrDecrypt, id)
	}
	return pt, nil
}

// NeedsReencrypt reports whether ciphertext is not sealed by the ring's
// newest key in the current format, so a rotation should decrypt and
// re-encrypt it. It does not authenticate: a value it flags may still fail
// to decrypt, and the rotation reports that.
func (r *KeyRing) NeedsReencrypt(ciphertext []byte) bool {
	if len(ciphertext) < headSize || ciphertext[0] != version {
		return true
	}
	return !bytes.Equal(ciphertext[1:headSize], r.keys[0].id[:])
}

func (r *KeyRing) find(id [idSize]byte) (ringKey, bool) {
	for _, k := range r.keys {
		if k.id == id {
			return k, true
		}
	}
	return ringKey{}, false
}

// additional authenticates the header with the caller's aad. The header has
// a fixed length, so the concatenation is unambiguous.
func additional(head, aad []byte) []byte {
	ad := make([]byte, 0, len(head)+len(aad))
	return append(append(ad, head...), aad...)
}
