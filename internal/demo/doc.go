// Package demo is `sallyport demo` (DESIGN.md §11): Sallyport, an upstream
// demo identity provider and a demo app, each on its own loopback port, so
// a newcomer sees a whole federated sign-in on one machine with no
// accounts anywhere.
//
//   - Sallyport runs from the embeddable package on a fresh SQLite database
//     with a generated encryption key, with the demo identity provider as
//     the social connection "demo" and the demo app as the client
//     "demo-app".
//   - The demo identity provider is internal/testidp's generic persona in
//     interactive mode: it shows a page on which a person picks a demo
//     person, so the hop to the upstream is visible.
//   - The demo app is an ordinary OpenID Connect relying party built on
//     go-oidc and x/oauth2, as a third-party app would be: it knows only
//     Sallyport's issuer, its client id and its secret.
//
// # The demo app's sign-in, as states and transitions
//
//  1. Signed out. GET / offers "Sign in with Sallyport".
//  2. GET /login discovers Sallyport (once), makes state, nonce and a PKCE
//     S256 verifier, keeps them in a new in-memory session whose id is the
//     browser's cookie, and redirects to the authorization endpoint asking
//     for openid, profile, email and offline_access.
//  3. Sallyport and the demo identity provider do their part; Sallyport
//     redirects to GET /callback with code and state (or error).
//  4. GET /callback requires the session's state (single use, ten
//     minutes), exchanges the code with the verifier, verifies the ID
//     token (signature, issuer, audience, expiry) and its nonce, fetches
//     userinfo (whose sub must match), and replaces the session with a
//     signed-in one under a new id. Any failure ends on a page that says
//     to start again; nothing is half signed in.
//  5. Signed in. GET / shows the verified ID token claims and userinfo.
//     POST /refresh runs the refresh_token grant; the refresh token rotates
//     and a new ID token must be about the same subject.
//  6. POST /logout forgets the session, revokes the refresh token, and
//     redirects to the end_session_endpoint with id_token_hint,
//     post_logout_redirect_uri and a state kept in a cookie; Sallyport
//     ends its session and sends the browser back to GET /?state=…, which
//     says "You are signed out" only when the state matches.
package demo
