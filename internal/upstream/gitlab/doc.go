// Package gitlab signs people in with GitLab, gitlab.com or a self-managed
// instance, on the generic OpenID Connect upstream, package oidc: GitLab is
// a real OpenID Provider (doorkeeper-openid_connect) with discovery, a
// JWKS, RS256 ID tokens, userinfo and PKCE.
//
// # The flow, as states and transitions
//
//	New ──discover BASE/.well-known/openid-configuration──► ready
//	                        │ issuer is not BASE byte for byte
//	                        ▼
//	                      error
//
//	AuthCodeURL ──► GitLab ──callback──► code redeemed ──► ID token verified ──► sub numeric ──► Identity
//	                                          │                   │                  │
//	                                          ▼                   ▼                  ▼
//	                                 code_exchange_failed   identity_invalid   identity_invalid
//
// In order:
//
//  1. Setup. The issuer is [Config.BaseURL] (https://gitlab.com by
//     default), including any relative root (https://example.com/gitlab)
//     and without a trailing slash, as GitLab writes it. The discovery
//     document must name exactly that issuer; the endpoints
//     (/oauth/authorize, /oauth/token, /oauth/userinfo,
//     /oauth/discovery/keys) come from it.
//  2. Start. [Provider.AuthCodeURL] is oidc's: response_type=code, scope
//     (openid profile email by default), state, nonce and the PKCE S256
//     challenge, which GitLab advertises.
//  3. Callback, redemption, ID token and userinfo: oidc's rules
//     (upstream_error, invalid_state, code_exchange_failed,
//     identity_invalid).
//  4. Identity. Subject is sub, GitLab's numeric user id (stable since
//     GitLab 11.1); a sub that is not a positive decimal integer (the
//     deprecated sub_legacy hash, or anything else) is identity_invalid.
//     Email is the user's primary address (with the email scope); it is
//     verified only when email_verified is the JSON boolean true, as GitLab
//     sends it. Username is nickname (else preferred_username), for display
//     only: GitLab users can rename themselves, and the old name can then
//     be taken by someone else.
//
// # Self-managed instances
//
// On a self-managed instance, administrators create users and may turn
// email confirmation off, so email_verified is only as trustworthy as the
// instance. That trust is the connection's to declare (DESIGN.md §7:
// self-hosted IdPs are trusted for linking only when the connection says
// so); this package reports what the instance says.
//
// # Sources
//
//   - GitLab as an OpenID Connect identity provider (discovery, the claims
//     of the ID token and userinfo: sub, sub_legacy, email,
//     email_verified as a boolean, nickname, preferred_username):
//     https://docs.gitlab.com/integration/openid_connect_provider/
//   - OAuth 2.0 identity provider API (authorization-code flow with PKCE,
//     /oauth/authorize and /oauth/token, token expiry since 15.0):
//     https://docs.gitlab.com/api/oauth2/
//   - Relative URL root (the issuer includes it):
//     https://docs.gitlab.com/install/relative_url/
//   - Sallyport's digest of all of the above: reference/provider-quirks.md
//     §0 (rules every preset shares) and §6 (GitLab).
package gitlab
