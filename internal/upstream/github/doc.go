// Package github signs people in with GitHub (github.com or GitHub
// Enterprise Server) as an OAuth app. GitHub speaks plain OAuth 2.0: there
// is no ID token, no discovery document and no JWKS, so the identity comes
// from the REST API, read with the access token the code was redeemed for.
//
// # The flow, as states and transitions
//
//  1. Start. [Provider.AuthCodeURL] sends the browser to
//     BASE/login/oauth/authorize with client_id, redirect_uri (Sallyport's
//     /callback/{connection}), scope (space-separated), state, the PKCE S256
//     challenge, and the login hint as login. No nonce: nothing comes back
//     that could carry one.
//  2. Callback. [Provider.Exchange] refuses a callback carrying error=… with
//     upstream_error, and one carrying no code likewise. (The flow package
//     has already checked state before calling it.)
//  3. Redeem. POST BASE/login/oauth/access_token with the client
//     credentials, the code, the redirect_uri and the PKCE verifier, asking
//     for JSON. GitHub answers most failures with HTTP 200 and an error body
//     (error=bad_verification_code, incorrect_client_credentials…); any
//     answer without an access_token is code_exchange_failed.
//  4. Profile. GET API/user. The subject is the numeric id written in
//     decimal: the login can be renamed and then taken by someone else, so
//     it is display only ([upstream.Identity.Username]). A /user answer
//     without a positive integer id is identity_invalid.
//  5. Email. Only if the token was granted user:email (or user), read
//     GET API/user/emails, following Link rel="next" for at most 10 pages
//     of 100, and only on the API's own origin, since the access token goes
//     with every request. The email is the primary address, and only if
//     GitHub says it is verified; otherwise the identity has no email at
//     all. A verified address that is not primary is never taken, and the
//     public email of /user (chosen by the user for display and possibly
//     null) is never used. DESIGN.md §7 asks for verified and primary;
//     the reference's fallback to "any verified address" is deliberately not
//     implemented, so the address Sallyport matches on is always the one
//     the person chose as their main address at GitHub.
//
// # GitHub Enterprise Server
//
// With [Config.BaseURL] set, the endpoints are BASE/login/oauth/* and the
// API is BASE/api/v3. GitHub Enterprise Server has no email verification
// of its own: its addresses are whatever its administrators let users
// type. Its primary address is therefore returned with EmailVerified false
// unless the operator sets [Config.TrustEnterpriseEmails], declaring that
// the instance's addresses are admin-asserted and trustworthy.
//
// # Sources
//
//   - Authorizing OAuth apps (endpoints, parameters, login, prompt, the
//     Accept header on the token request, redirect_uri subdirectories):
//     https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
//   - PKCE, S256 only, supported since 2025-07-14:
//     https://github.blog/changelog/2025-07-14-pkce-support-for-oauth-and-github-app-authentication/
//   - Token errors answered with HTTP 200 (bad_verification_code):
//     https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors
//   - Scopes, and the comma-separated scope of the token response:
//     https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps
//   - GET /user (numeric id, login, nullable name and public email):
//     https://docs.github.com/en/rest/users/users#get-the-authenticated-user
//   - GET /user/emails (primary, verified; needs user:email):
//     https://docs.github.com/en/rest/users/emails#list-email-addresses-for-the-authenticated-user
//   - Pagination with the Link header:
//     https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api
//   - API versions (X-GitHub-Api-Version):
//     https://docs.github.com/en/rest/about-the-rest-api/api-versions
//   - GitHub Enterprise Server REST API base (HOST/api/v3):
//     https://docs.github.com/en/enterprise-server@latest/rest/quickstart
//   - Sallyport's digest of all of the above, with the peer code that does
//     it wrong: reference/provider-quirks.md §0 (flow hygiene) and §3.
package github
