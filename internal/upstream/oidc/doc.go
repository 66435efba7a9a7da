// Package oidc is the generic OpenID Connect upstream (kind oidc), built
// from parts the presets (google, microsoft, gitlab, apple) reuse:
// [Discover] and [DiscoveryCache] for metadata, [KeySet] for the JWKS,
// [Verifier] for ID tokens, [IdentityFrom] and [MergeUserinfo] for claims.
//
// Every request to the provider (discovery, JWKS, token, userinfo) goes
// through the netguard client the caller supplies, so an admin-supplied
// issuer cannot reach Sallyport's own network, and bodies and time are
// capped.
//
// # Setting up (New)
//
//	configured ──discover──► metadata ──build──► ready
//	     │                      │
//	     │ fetch fails,         │ no common algorithm, or neither
//	     │ issuer not byte-     │ client_secret_basic nor _post
//	     ▼ exact                ▼
//	   error                  error
//
// The discovery document is fetched from the issuer without its trailing
// slash + "/.well-known/openid-configuration" and its issuer must equal
// the configured one byte for byte. From it come the endpoints, the
// algorithm allow-list (the configured algorithms that the provider lists
// in id_token_signing_alg_values_supported), PKCE (S256 unless the
// provider lists methods without it), the token endpoint authentication
// (basic, else post) and whether callbacks carry RFC 9207's iss. A document
// older than DiscoveryTTL is fetched again when next used; if that fails,
// or the new document is unusable, the old one stays in use.
//
// # One sign-in, as states and transitions
//
//	AuthCodeURL ──► at the provider ──callback──► iss checked ──► code redeemed
//	                                                   │              │
//	                               invalid_state,      │              ▼
//	                               upstream_error ◄────┘   code_exchange_failed
//
//	code redeemed ──► ID token verified ──► (userinfo) ──► Identity
//	                       │                    │
//	                       ▼                    ▼
//	               identity_invalid      identity_invalid
//
// Each step, and what refuses it:
//  1. AuthCodeURL: response_type=code, client_id, redirect_uri, scope
//     (openid always), state, nonce, the S256 code_challenge when the
//     provider takes PKCE, login_hint and prompt when given, and the
//     configured AuthParams, which can override none of these.
//  2. Callback, iss: when the provider advertises
//     authorization_response_iss_parameter_supported, iss must be present;
//     when present it must be the issuer byte for byte. Otherwise the
//     answer may come from another provider (a mix-up attack):
//     invalid_state, checked before anything else, error answers included.
//  3. Callback, error: an error parameter is upstream_error; error and
//     error_description reach the cause (logs, audit), never the page.
//  4. Callback, code: exactly one non-empty code, else invalid_state (the
//     request is not an authorization response).
//  5. Redemption with golang.org/x/oauth2 (redirect_uri repeated, the PKCE
//     verifier sent): a transport error, a timeout, a non-2xx answer, an
//     error body, or a 200 without access_token or id_token is
//     code_exchange_failed.
//  6. ID token ([Verifier.Verify]): header alg on the allow-list (never
//     none; HMAC only when configured, keyed with the client secret, never
//     with JWKS material); key found by kid, never by alg, and of the
//     alg's type; signature; iss byte-exact (or the preset's IssuerCheck);
//     sub present; aud contains the client id and no untrusted audience;
//     azp, required with several audiences, is the client id; exp, iat and
//     nbf within the skew; nonce equal to the flow's; at_hash, when present,
//     matches the access token. Any failure is identity_invalid, except a
//     JWKS that cannot be fetched at all (code_exchange_failed).
//  7. Userinfo, fetched when the ID token lacks the email claim (or name
//     under the profile scope, or the scopes ask for more) or always on
//     request: JSON or a signed JWT, whose sub must equal the ID token's
//     (identity_invalid). Its claims only fill gaps: the ID token wins, and
//     an email and its email_verified come from the same source.
//  8. Identity: Subject is sub and never mapped; Email normalised (dropped
//     when it is not an address); EmailVerified from email_verified as a
//     boolean or the exact string "true", missing meaning false; Name,
//     Picture, Username (preferred_username, display only), Claims.
//
// # Keys
//
// The JWKS is fetched on first use and cached by kid; keys for encryption,
// symmetric keys and small RSA keys are left out. An unknown kid refetches
// it once, one fetch shared by every waiting caller, and at most once per
// JWKSMinRefetch (30 s) counting every fetch: a second unknown kid within
// that time is refused without a request. Keys older than JWKSRefresh are
// fetched again on use; a failed refresh keeps them.
package oidc
