// Package apple signs people in with Sign in with Apple on the web. Apple
// speaks OpenID Connect with enough differences that package oidc's
// Provider does not fit as a whole (a client secret minted per request, a
// form_post callback, no PKCE, no userinfo), so this package runs the flow
// itself on oidc's parts: [oidc.KeySet] for Apple's JWKS and
// [oidc.Verifier] for the ID token.
//
// # The flow, as states and transitions
//
//	AuthCodeURL ──► Apple ──form_post──► (re-posted same-origin) ──► code redeemed ──► ID token verified ──► Identity
//	                                             │                          │                   │
//	                                             ▼                          ▼                   ▼
//	                                   upstream_error / invalid_state  code_exchange_failed  identity_invalid
//
// In order:
//
//  1. Start. [Provider.AuthCodeURL] sends response_type=code,
//     response_mode=form_post, client_id (the Services ID), redirect_uri,
//     scope (name email by default), state and nonce. Apple refuses any
//     other response mode when name or email is asked for, so the callback
//     is always a cross-site POST ([Provider.FormPost]); Sallyport's web
//     layer re-posts it same-origin rather than weakening a cookie. Scopes
//     are separated by %20, not +, as Apple's documentation asks (Apple's
//     sign-in sheet has been seen to misread "name+email"). No PKCE: Apple
//     neither advertises nor checks it ([Provider.UsesPKCE] is false); the
//     nonce and the single-use state protect the flow. login_hint and
//     prompt are not sent: Apple documents neither.
//  2. Callback. The parameters come from the POSTed form. An iss that is
//     present must be the issuer (invalid_state); error (such as
//     user_cancelled_authorize) is upstream_error; otherwise exactly one
//     non-empty code, else invalid_state.
//  3. Redemption. POST to the token endpoint with client_secret_post, the
//     only method Apple takes: client_id, the code, the redirect_uri and a
//     client_secret this package mints for the request, an ES256 JWT signed
//     with the .p8 key: header kid = [Config.KeyID]; iss = [Config.TeamID],
//     sub = client_id, aud = the issuer (https://appleid.apple.com), iat =
//     now, exp = now + [ClientSecretTTL]. Apple allows up to six months; a
//     secret that lives five minutes and is never stored is worthless to
//     whoever reads it in a log or a proxy. Any failure (invalid_client
//     for a wrong key, invalid_grant, no id_token) is code_exchange_failed.
//  4. ID token: [oidc.Verifier] with RS256 only, iss the issuer byte for
//     byte, aud the client id, the flow's nonce, exp and iat within the
//     skew, and at_hash when present. Apple's keys come from its JWKS,
//     cached by kid and refetched at most once per 30 s on an unknown kid.
//  5. Identity. Subject is sub (stable, scoped to the team). Email is
//     email, which may be a private relay address; email_verified and
//     is_private_email arrive as JSON booleans or as the strings "true" and
//     "false", and are booleans in Identity.Claims (a missing or other
//     value is false). Name comes only from the user form field, see below.
//
// # The user form field
//
// On a person's first authorization of the app, and only then, Apple adds
// a user field to the POST: JSON with name.firstName, name.lastName and
// email. It is not signed, so anyone who can shape the POST can write
// anything into it. It is therefore used for the display name and nothing
// else: its email is ignored (the ID token's is the only one), it never
// names or keys anyone, it is not copied into Identity.Claims, and a
// malformed one is ignored. As Apple sends it once, the caller should
// store the name the first time it sees it; to get it again the person
// must revoke the app in their Apple Account settings.
//
// # Sources
//
//   - Incorporating Sign in with Apple into other platforms (the
//     authorization request, response_mode=form_post, scope separated by
//     %20, the user object on the first authorization only):
//     https://developer.apple.com/documentation/signinwithapple/incorporating-sign-in-with-apple-into-other-platforms
//   - Request an authorization to the Sign in with Apple server
//     (form_post required with the name or email scope):
//     https://developer.apple.com/documentation/signinwithapple/request-an-authorization-to-the-sign-in-with-apple-server
//   - Generate and validate tokens (client_secret_post; the client-secret
//     JWT: alg ES256, kid, iss = team id, iat, exp at most 15777000 s
//     later, aud https://appleid.apple.com, sub = client id):
//     https://developer.apple.com/documentation/signinwithapple/generate-and-validate-tokens
//   - Creating a client secret:
//     https://developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret
//   - Authenticating users with Sign in with Apple (the ID token: iss,
//     sub, aud, nonce, email, email_verified, is_private_email,
//     transfer_sub; verifying it with Apple's public key):
//     https://developer.apple.com/documentation/signinwithapple/authenticating-users-with-sign-in-with-apple
//   - Fetch Apple's public key (the JWKS at /auth/keys):
//     https://developer.apple.com/documentation/signinwithapple/fetch-apple's-public-key-for-verifying-token-signature
//   - Peers: string booleans (goth providers/apple BoolString, Kratos
//     x.ConvertibleBoolean); the unsigned user field (Kratos); secrets
//     minted per request (Kratos 5 min, Assent 10 min); %20 in scope
//     (goth #361, python-social-auth #470).
//   - Sallyport's digest of all of the above: reference/provider-quirks.md
//     §0 (rules every preset shares) and §4 (Apple).
package apple
