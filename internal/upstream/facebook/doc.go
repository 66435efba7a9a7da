// Package facebook signs people in with Facebook Login, the classic
// OAuth 2.0 flow ("manually build a login flow") followed by one Graph API
// call. There is no ID token: the identity comes from GET /me, made with
// the access token and an appsecret_proof.
//
// # The flow, as states and transitions
//
//  1. Start. [Provider.AuthCodeURL] sends the browser to
//     www.facebook.com/{version}/dialog/oauth with client_id (the app id),
//     redirect_uri (Sallyport's /callback/{connection}), response_type=code,
//     scope (comma-separated permissions), state and the PKCE S256
//     challenge. No nonce: the classic flow returns no ID token. A prompt
//     of "login" becomes auth_type=reauthenticate.
//  2. Callback. [Provider.Exchange] refuses a callback carrying error=…
//     (with Facebook's error_reason and error_code) with upstream_error,
//     and one carrying no code likewise. (The flow package has already
//     checked state.)
//  3. Redeem. The code goes to graph.facebook.com/{version}/oauth/access_token
//     with the app id and secret as parameters, the redirect_uri and the
//     PKCE verifier. Any failure, or an answer without access_token, is
//     code_exchange_failed.
//  4. Profile. GET graph.facebook.com/{version}/me?fields=id,name,first_name,
//     last_name,email,picture with the access token in the Authorization
//     header (never in a URL) and appsecret_proof = hex(HMAC-SHA256(app
//     secret, access token)), which Graph can be set to require and which
//     makes a stolen token useless without the secret. A failed call is
//     code_exchange_failed; an answer without id is identity_invalid.
//
// # Identity rules
//
//   - Subject is id, an app-scoped user id: the same person has another id
//     under another app id, so changing the connection's app id orphans
//     every linked identity.
//   - Email may be absent (phone-only accounts, or the person declined the
//     email permission). When present it is normalised but never verified:
//     Graph has no verified flag, and Sallyport does not guess one
//     (DESIGN.md §7). The configuration refuses trust_email_for_linking for
//     this kind for the same reason.
//   - Picture is picture.data.url, except the default silhouette, which is
//     not the person's picture.
//   - An access token handed to Sallyport by a client is never accepted;
//     only tokens this package redeemed itself are used (the /debug_token
//     check a client-supplied token would need is therefore not required).
//
// # The Graph API version
//
// Every URL names a Graph API version, [DefaultGraphVersion] unless
// [Config.GraphVersion] says otherwise. It must be pinned: an unversioned
// call falls back to the oldest version the app supports, so the answer's
// shape would change under Sallyport's feet. Move it forward deliberately,
// before Facebook retires the pinned version.
//
// # Sources
//
//   - Manually build a login flow (dialog, parameters, comma-or-space
//     separated scope, error callback, code exchange with the app secret
//     as a parameter):
//     https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
//   - PKCE (code_challenge, S256) in manually built flows:
//     https://developers.facebook.com/docs/facebook-login/guides/advanced/oidc-token
//   - appsecret_proof:
//     https://developers.facebook.com/docs/graph-api/securing-requests
//   - Versioning, and the fallback of unversioned calls:
//     https://developers.facebook.com/docs/graph-api/guides/versioning
//   - The User node (id is app-scoped; email; picture):
//     https://developers.facebook.com/docs/graph-api/reference/user
//   - Re-authentication (auth_type=reauthenticate):
//     https://developers.facebook.com/docs/facebook-login/guides/advanced/re-authentication
//   - Sallyport's digest of all of the above, with peer code (Kratos
//     provider_facebook.go, Assent facebook.ex) and where peers disagree on
//     email: reference/provider-quirks.md §0 (flow hygiene) and §5.
package facebook
