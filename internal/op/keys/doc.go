// Package keys manages Sallyport's own token signing keys: the keys that
// sign the ID tokens (and JWT access tokens) Sallyport issues to apps, and
// that apps find in the JWKS at /oauth2/jwks.
//
// The keys live in the store, so every replica signs with the same key and
// publishes the same set. Each replica keeps a per-process copy of the set
// for [Config.CacheTTL]; a change made on one replica is seen by the others
// within that time.
//
// # Algorithms
//
// RS256 (RSA, [RSABits] bits), ES256 (P-256) and EdDSA (Ed25519). Each
// algorithm rotates on its own and has its own active key: a client may
// ask for ES256 or EdDSA ID tokens while the rest get RS256. Every key's
// kid is its RFC 7638 JWK thumbprint (base64url SHA-256 of the public
// key), so a kid names exactly one key on every replica and forever.
//
// # Rotation: states and transitions
//
//	               Rotate               Advance, once published        Advance, once
//	                                    for RotationDelay              RemoveAfter passed
//	(no key) ──────────────► next ─────────────────────────► active ──► retired ───────────► (removed)
//	                                                           ▲
//	(no active key) ── Ensure, or the first Signer ────────────┘
//	                   for an algorithm: active at once
//
// The states:
//
//   - next: published in the JWKS, signs nothing. Apps and their libraries
//     cache a JWKS, often for hours; publishing the key first means that
//     when it starts signing, every cached JWKS already holds it.
//     [Config.RotationDelay] (default 24 h) is how long it waits.
//   - active: signs. One per algorithm. [Manager.Advance] makes the next key
//     of an algorithm active once it has been published for
//     RotationDelay; the key it replaces becomes retired in the same
//     transaction.
//   - retired: still published, signs nothing, until RemoveAfter = the
//     moment it retired + [Config.MaxTokenLifetime] + CacheTTL: the longest
//     life of any token it signed, plus the time other replicas may have
//     kept signing with it from their cache.
//   - removed: Advance deletes a retired key once RemoveAfter has passed.
//
// The first start has no key to publish ahead of time: [Manager.Ensure]
// creates the RS256 key as active at once, and [Manager.Signer] does the
// same for ES256 and EdDSA the first time a client asks for them.
//
// # Several replicas
//
// Every change (create, rotate, advance) is one transaction that first
// takes a lock shared by all replicas, then re-reads the keys and decides
// on what it finds: two replicas starting together end with one active
// key, two rotations never leave two next keys, and Advance, run
// periodically on every replica, is idempotent. The lock is a row of the
// signing_keys table with a kid no thumbprint can have (see lockKID); it is
// inserted first and deleted before commit, so nobody outside the
// transaction ever sees it. A concurrent inserter of the same kid waits for
// the holder's transaction to end (PostgreSQL's unique index; SQLite has a
// single writer anyway), which serialises the transactions in both
// dialects without SELECT … FOR UPDATE.
//
// # At rest
//
// Private keys are stored as PKCS #8, sealed by the secret key ring with
// the additional data "signing_key/<kid>", so a sealed key moved to another
// row does not open. Decrypted keys live only in memory, and only for the
// active key of each algorithm. Nothing this package returns, logs or
// audits holds private key material.
package keys
