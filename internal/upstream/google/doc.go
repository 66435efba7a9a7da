// Package google signs people in with Google (consumer accounts and Google
// Workspace) on the generic OpenID Connect upstream, package oidc: the same
// discovery, JWKS cache, ID token verification and userinfo rules, plus
// Google's own.
//
// # The flow, as states and transitions
//
//	AuthCodeURL ──► Google ──callback──► code redeemed ──► ID token verified ──► hosted domain ──► Identity
//	                                          │                   │                    │
//	                                          ▼                   ▼                    ▼
//	                                 code_exchange_failed   identity_invalid      not_allowed
//
// In order:
//
//  1. Start. [Provider.AuthCodeURL] is oidc's: response_type=code, scope
//     (openid email profile by default), state, nonce and the PKCE S256
//     challenge, which Google's discovery document advertises. With exactly
//     one [Config.HostedDomains] entry it also sends hd=DOMAIN, so Google's
//     account chooser offers that domain's accounts. hd in the request is
//     a hint to Google's page and nothing more: anyone can remove it from
//     the URL.
//  2. Callback and redemption: oidc's rules (upstream_error for error=…,
//     invalid_state without a single code, code_exchange_failed when the
//     token endpoint fails).
//  3. ID token: oidc's [oidc.Verifier], except that iss may be the issuer
//     (https://accounts.google.com) or the same without its scheme
//     (accounts.google.com): Google documents both values and still issues
//     the legacy one. Any other iss is identity_invalid.
//  4. Hosted domain. When [Config.HostedDomains] is set, the ID token's hd
//     claim must name one of them, else not_allowed. Only the signed ID
//     token's hd counts: never the request's hd parameter, and never an hd
//     from userinfo (the identity's Claims carry the ID token's hd or none).
//     Consumer accounts (gmail.com and outside addresses) have no hd, so
//     they are refused whenever HostedDomains is set.
//  5. Identity. Subject is sub, the only stable key: Google never reuses
//     it, whereas an email or a Workspace domain can change hands (a
//     lapsed domain bought by someone else signs in with new subs).
//     Email and EmailVerified come from email and email_verified (a
//     boolean, or the string "true" in older tokens).
//
// # Verified is not authoritative
//
// A consumer account registered with an outside address (alice@example.com
// with a Google password) has email_verified true because Google checked
// the address once, at sign-up; whoever controls that mailbox today may be
// someone else. Google is authoritative for an address only when it is a
// @gmail.com address, or when email_verified is true and the token carries
// hd (the address belongs to a Workspace or Cloud Identity organization
// that manages it). Identity.Claims therefore carries
// [ClaimEmailAuthoritative], a boolean Sallyport computes (a claim of that
// name in the token is overwritten): true only for a verified address for
// which Google is authoritative. Reconciliation may later use it to decide
// whether a verified address may link to an existing account without
// further proof; EmailVerified alone keeps its plain meaning.
//
// # Sources
//
//   - OpenID Connect at Google (discovery document, authentication request
//     parameters including hd and its hd=* form, the ID token's claims,
//     "An ID token's iss is https://accounts.google.com or
//     accounts.google.com", and the email, email_verified and hd rule for
//     when Google is authoritative):
//     https://developers.google.com/identity/openid-connect/openid-connect
//   - Verify the Google ID token on your server side (both iss values; hd
//     to restrict to a Workspace domain):
//     https://developers.google.com/identity/gsi/web/guides/verify-google-id-token
//   - PKCE for web-server apps (code_challenge, S256):
//     https://developers.google.com/identity/protocols/oauth2/web-server
//   - The discovery document itself:
//     https://accounts.google.com/.well-known/openid-configuration
//   - Enforcing hd from the token, not the request: dex
//     connector/google/google.go (hostedDomains), Jenkins SECURITY-208;
//     the lapsed-domain risk of email- or hd-based matching: Truffle
//     Security, 2025.
//   - Sallyport's digest of all of the above: reference/provider-quirks.md
//     §0 (rules every preset shares) and §1 (Google).
package google
