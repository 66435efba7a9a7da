// Package microsoft signs people in with Microsoft Entra ID (the v2.0
// endpoint: work, school and personal Microsoft accounts). It is the
// generic OpenID Connect provider of package oidc with Entra's rules on
// top: where the issuer comes from, which tenants may sign in, what the
// subject is, and when an email counts as verified. It never calls
// Microsoft Graph.
//
// # Setting up (New)
//
//	configured ──checks──► discovery ──issuer checked──► ready
//	     │                     │
//	     ▼                     ▼
//	   error                 error
//
// The tenant is the authority's path segment: common (work, school and
// personal accounts), organizations (work and school), consumers
// (personal), a tenant ID, or a verified domain of one tenant. common and
// organizations need AllowedTenants, the tenant IDs that may sign in: New
// refuses to build without one, and refuses the consumers tenant in the
// list of organizations. The discovery document is fetched from
// {authority}/{tenant}/v2.0/.well-known/openid-configuration and its
// issuer must be, byte for byte, {authority}/{tenantid}/v2.0 (the literal
// template) for common and organizations, {authority}/{tenant ID}/v2.0
// for a tenant ID and consumers (whose tenant is
// 9188040d-6c67-4c5b-b112-36a304b66dad), and {authority}/{some tenant
// ID}/v2.0 for a domain, whose tenant ID is then fixed for the provider's
// life. The document is fetched again when a day old; a failed or changed
// refresh (a domain moving to another tenant, say) keeps the old one.
//
// The generic provider is built from that document with two changes: no
// userinfo endpoint (Entra's is Graph, needs a Graph-audience token, and
// the ID token carries every claim used here), and S256 PKCE, which Entra
// takes though its document lists no code_challenge_methods_supported.
//
// # One sign-in, as states and transitions
//
//	AuthCodeURL ──► Entra ──callback──► code redeemed (PKCE) ──► ID token verified ──► issuer rules ──► allow-list ──► Identity
//	                                         │                        │                    │               │
//	                                         ▼                        ▼                    ▼               ▼
//	                          upstream_error / code_exchange_failed  identity_invalid  identity_invalid  not_allowed
//
// Each step, and what refuses it:
//  1. AuthCodeURL: the tenant's authorize endpoint, with response_type
//     code, scope (openid and profile always: profile brings oid), state,
//     nonce and the S256 challenge.
//  2. Exchange: the generic provider checks the callback, redeems the code
//     with the verifier and verifies the ID token (algorithm, key by kid,
//     signature, aud, azp, exp, iat, nbf, nonce, at_hash) — the issuer
//     comparison being replaced by Entra's rules below.
//  3. Issuer rules, after the signature verified (identity_invalid):
//     tid is a GUID; ver, when present, is 2.0; for one tenant, tid is
//     that tenant; iss is the template with tid substituted (or the
//     tenant's issuer), byte for byte; the signing key's own issuer
//     member, when present, is iss once a {tenantid} in it is
//     substituted with tid (the personal-account keys name a tenant ID
//     and so match exactly); organizations refuses the consumers tenant.
//  4. Allow-list (not_allowed): for common and organizations, tid must be
//     in AllowedTenants. The token is genuine and Microsoft's checks
//     passed; the tenant is simply not one this connection admits,
//     which is DESIGN §4's "not allowed to sign in". A forged or
//     mismatched issuer, by contrast, is identity_invalid.
//  5. Identity, from the ID token alone: see below. A token without a
//     GUID oid is identity_invalid.
//
// # Identity
//
//   - Subject is tid + ":" + oid, both lower-cased. oid is immutable and
//     the same across apps; the same person in another tenant (a guest)
//     has another oid, and tid keeps two tenants' subjects apart in any
//     case. sub is pairwise per app and not used.
//   - Email is the email claim; EmailVerified is true only when xms_edov
//     is true or "true". Entra never sends email_verified, and email is
//     mutable and may be unverified (the nOAuth cross-tenant takeover).
//   - preferred_username, upn and unique_name are never the email;
//     preferred_username is the display-only Username.
//   - Name is name; Claims are the ID token's, tid and oid included.
//
// Issuer reports the discovery issuer, the template for common and
// organizations, for the login flow to record. Entra does not advertise
// RFC 9207's iss parameter; were it ever to send one, the generic
// provider compares it with that issuer.
//
// # Sources
//
//   - Validating the issuer and the signing key issuer ({tenantid}
//     template, tid, key issuer member):
//     https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer
//     and #validate-the-signing-key-issuer (entra-docs access-tokens.md)
//   - ID token claims (tid, oid, sub pairwise, ver, the consumers tenant
//     9188040d-6c67-4c5b-b112-36a304b66dad, preferred_username for
//     display): https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
//   - Which claims may be used for authorization (never email,
//     preferred_username, upn, unique_name):
//     https://learn.microsoft.com/en-us/entra/identity-platform/claims-validation
//   - xms_edov, the email-domain-verified optional claim:
//     https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims-reference
//   - Moving off the email claim (nOAuth, removeUnverifiedEmailClaim):
//     https://learn.microsoft.com/en-us/entra/identity-platform/migrate-off-email-claim-authorization
//   - OpenID Connect on the v2.0 endpoint (discovery URL, tenants):
//     https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc
//   - Authorization code flow with PKCE:
//     https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
//   - UserInfo is a Graph endpoint (prefer ID token claims):
//     https://learn.microsoft.com/en-us/entra/identity-platform/userinfo
//   - National cloud authorities:
//     https://learn.microsoft.com/en-us/entra/identity-platform/authentication-national-cloud
//   - Sallyport's digest, with the peers not to copy (Kratos builds the
//     issuer from an unverified tid with no allow-list and re-discovers per
//     login; next-auth rewrites the discovery issuer with the configured
//     tenant; dex uses Graph /me and the UPN as a verified email):
//     reference/provider-quirks.md §0 and §2; DESIGN.md §7.
package microsoft
