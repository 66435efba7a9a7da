// Package loadgen drives full federated sign-ins against a running
// Sallyport, the way many browsers and one app would, and measures them.
//
// One sign-in is one new browser (an empty cookie jar) going through
// these states, each a real HTTP request:
//
//	start       the app sends the browser to Sallyport's authorization
//	            endpoint (code flow, PKCE S256, state, nonce, and
//	            connection=<slug> so no chooser is shown)
//	hops        the browser follows every redirect by hand: Sallyport →
//	            the upstream's authorize (which approves at once) →
//	            Sallyport's /callback/{connection} → the app's redirect URI
//	app         the redirect URI is not fetched: the app takes the code
//	            from it and checks state and, per RFC 9207, iss
//	token       the app redeems the code at the token endpoint
//	            (client_secret_basic, with the PKCE verifier)
//	verified    the app verifies the ID token (signature against the
//	            JWKS fetched once, issuer, audience, expiry, nonce)
//
// A sign-in that ends anywhere else is an error, counted by its kind. The
// latency of a sign-in is the time from start to verified.
//
// The upstream identity provider is internal/testidp, run by [StartUpstream]
// in the load generator's process: it approves every request at once for
// the user named by login_hint.
package loadgen
