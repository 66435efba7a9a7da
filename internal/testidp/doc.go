// Package testidp is an in-process upstream identity provider for
// Sallyport's tests, benchmarks and `sallyport demo`. It speaks real
// OpenID Connect and OAuth 2.0 over real HTTP (optionally HTTPS with a
// self-signed certificate) and signs with real keys (RSA 2048 by default,
// EC P-256 on request), so a standard client such as golang.org/x/oauth2
// with github.com/coreos/go-oidc/v3 works against it unchanged.
//
// One server hosts several personas, each under its own path prefix, with
// its own issuer, signing keys, clients and users:
//
//   - generic: a plain OIDC provider at URL()+"/generic" (more with
//     [IdP.AddGeneric], optionally with a trailing-slash issuer);
//   - entra: Microsoft Entra ID v2.0 under [IdP.EntraAuthority] with
//     tenant-specific and templated ({tenantid}) issuers;
//   - google, apple, gitlab: OIDC with each provider's claims and quirks;
//   - github, facebook: plain OAuth 2.0 with their profile APIs.
//
// [IdP.Endpoints] names every URL of a persona.
//
// # The authorization-code flow, as states and transitions
//
//  1. GET authorize. An unknown client_id or a redirect_uri that is not
//     registered answers with an error page (400) and never redirects.
//     Any other problem (unsupported response_type, PKCE method other than
//     S256, Apple's form_post rule) is redirected to the client as
//     error=…&state=….
//  2. Who signs in. By default the request is approved at once as the
//     persona's current user ([IdP.SignInAs]; the first user added until
//     then); a login_hint naming a user's email or subject overrides it.
//     In interactive mode ([Config.Interactive] or [Options.Interactive])
//     the persona shows a chooser page instead; its buttons POST back to
//     the authorize path with a single-use request id and CSRF token, and
//     a Cancel button that answers error=access_denied.
//  3. The code is delivered to the redirect_uri: as a 302 with code, state
//     (and iss, where the persona advertises RFC 9207), or, with
//     response_mode=form_post, as an auto-submitting HTML form
//     (see [FormPostRequest]).
//  4. POST token. The client authenticates (client_secret_basic with
//     form-encoded credentials per RFC 6749 §2.3.1, or client_secret_post;
//     Apple: an ES256 client-secret JWT). The code is single-use, lives
//     60 s, is bound to the client, the redirect_uri and the PKCE
//     challenge. The answer carries an opaque access token and, for OIDC
//     personas asked for openid, an ID token.
//  5. GET userinfo (Bearer) answers the profile of the token's user.
//
// Each persona can misbehave on request ([IdP.Misbehave]) to produce the
// defects a relying party must refuse: bad signatures, alg none, HMAC key
// confusion, wrong issuer or audience, nonce and expiry faults, unknown
// key ids, a bad at_hash, a userinfo subject mismatch, a discovery issuer
// mismatch, a wrong RFC 9207 iss, error callbacks, token errors, slowness
// and oversized bodies.
//
// Nothing here is tied to *testing.T; state lives in the [IdP] value and is
// safe for concurrent use.
package testidp
