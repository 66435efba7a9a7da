package secret

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testKey is a fixed key: byte i of key n is n*32+i.
func testKey(n int) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = byte(n*KeySize + i)
	}
	return k
}

func testRing(t testing.TB, keys ...[]byte) *KeyRing {
	t.Helper()
	r, err := NewKeyRing(keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	r := testRing(t, testKey(1))
	tests := []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"empty", nil, nil},
		{"secret with aad", []byte("client-secret-value"), []byte("connection/c1/client_secret")},
		{"binary", bytes.Repeat([]byte{0, 0xff}, 1000), []byte("signing_key/k1/private")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, err := r.Encrypt(tt.plaintext, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(ct), len(tt.plaintext)+Overhead; got != want {
				t.Errorf("len(ciphertext) = %d, want %d", got, want)
			}
			if len(tt.plaintext) > 4 && bytes.Contains(ct, tt.plaintext) {
				t.Error("ciphertext contains the plaintext")
			}
			pt, err := r.Decrypt(ct, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pt, tt.plaintext) {
				t.Errorf("Decrypt = %q, want %q", pt, tt.plaintext)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := testKey(1), testKey(2)
	old := testRing(t, oldKey)
	rotated := testRing(t, newKey, oldKey)
	aad := []byte("user/u1/totp_secret")

	oldCT, err := old.Encrypt([]byte("seed"), aad)
	if err != nil {
		t.Fatal(err)
	}
	newCT, err := rotated.Encrypt([]byte("seed"), aad)
	if err != nil {
		t.Fatal(err)
	}

	if pt, err := rotated.Decrypt(oldCT, aad); err != nil || string(pt) != "seed" {
		t.Errorf("rotated ring Decrypt(old ciphertext) = %q, %v; want seed", pt, err)
	}
	if !rotated.NeedsReencrypt(oldCT) {
		t.Error("NeedsReencrypt(old ciphertext) = false, want true")
	}
	if rotated.NeedsReencrypt(newCT) {
		t.Error("NeedsReencrypt(new ciphertext) = true, want false")
	}
	if !rotated.NeedsReencrypt([]byte{9}) {
		t.Error("NeedsReencrypt(garbage) = false, want true")
	}
	// The new ciphertext is sealed by the new key alone: a ring without it
	// cannot open it.
	if _, err := old.Decrypt(newCT, aad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old ring Decrypt(new ciphertext) error = %v, want ErrUnknownKey", err)
	}
	if diff := cmp.Diff([]string{idHex(newKey), idHex(oldKey)}, rotated.KeyIDs()); diff != "" {
		t.Errorf("KeyIDs mismatch (-want +got):\n%s", diff)
	}
}

func idHex(k []byte) string {
	id := keyID(k)
	return hex.EncodeToString(id[:])
}

func TestKeyIDStable(t *testing.T) {
	// The id is part of every stored ciphertext: changing its derivation
	// would orphan every secret at rest. Pin it.
	sum := sha256.Sum256(append([]byte("sallyport secret key id v1\x00"), testKey(1)...))
	if got, want := idHex(testKey(1)), hex.EncodeToString(sum[:4]); got != want {
		t.Errorf("key id = %s, want %s", got, want)
	}
	if strings.Contains(hex.EncodeToString(testKey(1)), idHex(testKey(1))) {
		t.Error("key id is a substring of the key")
	}
}

func TestWrongAAD(t *testing.T) {
	r := testRing(t, testKey(1))
	ct, err := r.Encrypt([]byte("s3cr3t"), []byte("connection/c1/client_secret"))
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range []string{"connection/c2/client_secret", "connection/c1/client_secre", "", "connection/c1/client_secret\x00"} {
		if _, err := r.Decrypt(ct, []byte(aad)); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Decrypt with aad %q: error = %v, want ErrDecrypt", aad, err)
		}
	}
}

func TestTamperEveryByte(t *testing.T) {
	r := testRing(t, testKey(1))
	aad := []byte("flow/f1/pkce_verifier")
	ct, err := r.Encrypt([]byte("verifier"), aad)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(ct)
			bad[i] ^= bit
			pt, err := r.Decrypt(bad, aad)
			if err == nil {
				t.Fatalf("byte %d ^ %#x: Decrypt succeeded with %q", i, bit, pt)
			}
			// Flipping the key id finds no key; anything else fails to
			// authenticate.
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrUnknownKey) {
				t.Errorf("byte %d: error = %v, want ErrDecrypt or ErrUnknownKey", i, err)
			}
		}
	}
	for _, n := range []int{0, 1, Overhead - 1} {
		if _, err := r.Decrypt(ct[:n], aad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("truncated to %d bytes: error = %v, want ErrDecrypt", n, err)
		}
	}
	if _, err := r.Decrypt(append(bytes.Clone(ct), 0), aad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("extended by one byte: error = %v, want ErrDecrypt", err)
	}
}

func TestUnknownKey(t *testing.T) {
	other := testRing(t, testKey(7))
	ct, err := other.Encrypt([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := testRing(t, testKey(1), testKey(2))
	_, err = r.Decrypt(ct, nil)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("error = %v, want ErrUnknownKey", err)
	}
	if !strings.Contains(err.Error(), idHex(testKey(7))) {
		t.Errorf("error %q does not name the key id %s", err, idHex(testKey(7)))
	}
	if !strings.HasPrefix(err.Error(), "secret: ") {
		t.Errorf("error %q lacks the package prefix", err)
	}
}

func TestErrorsRevealNothing(t *testing.T) {
	key := testKey(1)
	r := testRing(t, key)
	ct, err := r.Encrypt([]byte("plaintext-secret"), []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Decrypt(ct, []byte("b"))
	msg := err.Error()
	for _, leak := range []string{
		"plaintext-secret", hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key),
	} {
		if strings.Contains(msg, leak) {
			t.Errorf("error %q reveals %q", msg, leak)
		}
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, r)
		if strings.Contains(out, hex.EncodeToString(key[:8])) || strings.Contains(out, fmt.Sprint(key[:8])) {
			t.Errorf("Sprintf(%q, ring) = %q reveals the key", format, out)
		}
		if !strings.Contains(out, idHex(key)) {
			t.Errorf("Sprintf(%q, ring) = %q, want it to show the key id", format, out)
		}
	}
}

func TestNonceUniqueness(t *testing.T) {
	r := testRing(t, testKey(1))
	seen := make(map[string]bool)
	for i := range 1000 {
		ct, err := r.Encrypt([]byte("same plaintext"), []byte("same aad"))
		if err != nil {
			t.Fatal(err)
		}
		nonce := string(ct[headSize : headSize+nonceSize])
		if seen[nonce] {
			t.Fatalf("encryption %d repeated a nonce", i)
		}
		seen[nonce] = true
	}
}

func TestRandomnessInjected(t *testing.T) {
	nonce := bytes.Repeat([]byte{0xab}, nonceSize)
	r, err := NewKeyRing([][]byte{testKey(1)}, bytes.NewReader(nonce))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := r.Encrypt([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ct[headSize:headSize+nonceSize], nonce) {
		t.Errorf("nonce = %x, want it read from the configured reader", ct[headSize:headSize+nonceSize])
	}
	// The reader is exhausted: Encrypt must fail rather than seal with a
	// zero or repeated nonce.
	if _, err := r.Encrypt([]byte("x"), nil); err == nil {
		t.Error("Encrypt with an exhausted reader succeeded")
	}
}

func TestParseKeyRing(t *testing.T) {
	k1, k2 := testKey(1), testKey(2)
	std := base64.StdEncoding.EncodeToString
	tests := []struct {
		name    string
		in      string
		wantIDs []string
		wantErr string // substring; "" means success
	}{
		{"one std", std(k1), []string{idHex(k1)}, ""},
		{"raw std", base64.RawStdEncoding.EncodeToString(k1), []string{idHex(k1)}, ""},
		{"url", base64.URLEncoding.EncodeToString(k1), []string{idHex(k1)}, ""},
		{"raw url", base64.RawURLEncoding.EncodeToString(k1), []string{idHex(k1)}, ""},
		{"newest first with spaces", " " + std(k2) + " ,\n" + std(k1) + "\n", []string{idHex(k2), idHex(k1)}, ""},
		{"empty", "", nil, "empty"},
		{"blank", "  \n", nil, "empty"},
		{"stray comma", std(k1) + ",", nil, "key 2 of 2 is empty"},
		{"not base64", "not*base64!", nil, "key 1 of 1 is not base64"},
		{"short", std(k1[:16]), nil, "key 1 of 1 is 16 bytes, want 32"},
		{"long", std(append(bytes.Clone(k1), 0)), nil, "is 33 bytes, want 32"},
		{"duplicate", std(k1) + "," + std(k2) + "," + base64.RawURLEncoding.EncodeToString(k1), nil, "key 3 of 3 repeats key 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseKeyRing(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "secret: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				if strings.Contains(err.Error(), std(k1)) || strings.Contains(err.Error(), std(k1[:16])) {
					t.Errorf("error %q reveals a key", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantIDs, r.KeyIDs()); diff != "" {
				t.Errorf("KeyIDs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewKeyRingEmpty(t *testing.T) {
	if _, err := NewKeyRing(nil, nil); err == nil {
		t.Error("NewKeyRing(nil) succeeded")
	}
}

func TestGenerateKey(t *testing.T) {
	k, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseKeyRing(k)
	if err != nil {
		t.Fatalf("ParseKeyRing(GenerateKey()) error = %v", err)
	}
	if len(r.KeyIDs()) != 1 {
		t.Errorf("ring has %d keys, want 1", len(r.KeyIDs()))
	}
	k2, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if k == k2 {
		t.Error("two generated keys are equal")
	}
	fixed, err := GenerateKey(bytes.NewReader(testKey(3)))
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(testKey(3)); fixed != want {
		t.Errorf("GenerateKey(fixed reader) = %q, want %q", fixed, want)
	}
	if _, err := GenerateKey(bytes.NewReader(make([]byte, 5))); err == nil {
		t.Error("GenerateKey with a short reader succeeded")
	}
}

func BenchmarkEncrypt64(b *testing.B) {
	r := testRing(b, testKey(1))
	pt, aad := make([]byte, 64), []byte("connection/0123456789/client_secret")
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Encrypt(pt, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt64(b *testing.B) {
	r := testRing(b, testKey(1), testKey(2))
	aad := []byte("connection/0123456789/client_secret")
	ct, err := r.Encrypt(make([]byte, 64), aad)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Decrypt(ct, aad); err != nil {
			b.Fatal(err)
		}
	}
}
