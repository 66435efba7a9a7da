// Package session keeps browser sessions: who is signed in to Sallyport in
// this browser, carried by the __Host-sallyport_session cookie
// (DESIGN.md §3, §7, §9).
//
// # States and transitions
//
//	(none) ──Start──► live ──Current (TouchEvery passed)──► live, idle expiry slid
//	                   │
//	                   ├── End, RevokeUser, or Start in the same browser ──► revoked
//	                   ├── no request for Idle ──► idle-expired
//	                   └── Absolute since Start ──► absolute-expired
//
// Revoked and expired are final: Current answers [ErrNoSession] and only a
// new sign-in (a new Start) makes a new live session.
//
// Start draws a new 32-byte random id at every sign-in, so an id planted
// before sign-in (session fixation) is never promoted. It revokes the
// session the browser arrived with, stores only SHA-256(id), and sets the
// cookie (HttpOnly, Secure, SameSite=Lax, Path=/, no Domain, Max-Age = the
// absolute lifetime). It writes through the caller's store.Queries so the
// session is created in the same transaction as the sign-in's other writes.
//
// Current hashes the cookie and looks the session up in a small
// per-process cache, falling back to the store. An entry is trusted for at
// most CacheTTL (≤ 5 s): a revocation made on any replica is seen by every
// replica within that time, and at once on the replica that made it. Idle
// and absolute expiry are checked on every call against the injected clock,
// cached or not. The idle expiry slides (TouchSession) at most once per
// TouchEvery per session and process, never past the absolute expiry, so a
// busy browser does not turn every request into a write.
//
// End revokes the session, forgets it, and clears the cookie.
package session
