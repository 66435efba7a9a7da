// Package flow runs one trip to an upstream identity provider and back: the
// login flow of DESIGN.md §7. It makes the state, nonce and PKCE verifier,
// binds the trip to the browser that started it and to the connection it was
// sent to, and lets the callback use it exactly once.
//
// # States and transitions
//
//	(none) ──Begin──► pending ──Finish──► consumed ──checks pass──► accepted
//	                     │                    │
//	                     │ TTL passes         └──checks fail──► refused (invalid_state)
//	                     ▼
//	                  expired (Finish: refused, invalid_state)
//
// Begin (GET /login/{connection}):
//   - draws state (32 random bytes, base64url), nonce (32 random bytes) and,
//     when the upstream takes PKCE, an RFC 7636 verifier (32 random bytes,
//     base64url, 43 characters) with its S256 challenge;
//   - reuses the browser's __Host-sallyport_flow cookie (32 random bytes)
//     when it has a well-formed one, so two tabs can sign in at once, or sets
//     a new one;
//   - stores the flow under SHA-256(state) with SHA-256(cookie) as its
//     browser binding, the upstream issuer (mix-up defence), the verifier and
//     provider state sealed by the key ring with additional data naming this
//     flow and field, and an expiry of TTL (10 minutes);
//   - returns the upstream.AuthRequest to send the browser away with.
//
// Finish (GET|POST /callback/{connection}):
//  1. no state parameter → refused, nothing consumed;
//  2. consume the flow by SHA-256(state), atomically and once across every
//     replica. Unknown, expired and already-used states are refused alike
//     (the store cannot tell them apart, and the page must not either);
//  3. the flow was begun for another connection → refused;
//  4. the request's flow cookie is missing or hashes to another binding →
//     refused;
//  5. the sealed verifier and provider state are opened → accepted.
//
// The flow is consumed in step 2, before any check that can fail: a state
// that reaches the wrong connection or a foreign browser is burnt, so a
// stolen state can never be replayed from the right place later. Every
// refusal is an [outcome.InvalidState] error whose cause (for logs and
// audit, never the page) is one of the Err… sentinels of this package.
//
// After an accepted Finish the caller checks RFC 9207's iss parameter with
// [CheckIssParam] against Flow.Issuer before it lets the provider redeem the
// code: a callback never reaches a token endpoint with an invalid state.
//
// The browser binding cookie is not cleared by Finish: other tabs may still
// have flows bound to it. It expires on its own after TTL.
package flow
