package testidp

import "time"

// Misbehavior lists the defects a persona can be told to show, each one a
// check a relying party must make. Switches about ID tokens affect only
// personas that issue them. The zero value behaves correctly.
type Misbehavior struct {
	// BadSignature flips a bit of the ID token's signature.
	BadSignature bool
	// AlgNone sends an unsigned ID token: header alg "none", empty
	// signature.
	AlgNone bool
	// HMACWithPublicKey signs the ID token HS256 with the current public
	// key's PEM (PKIX) bytes as the secret and that key's kid: the classic
	// key-confusion attack.
	HMACWithPublicKey bool
	// WrongIssuer adds a trailing slash to iss (or removes the one the
	// issuer has).
	WrongIssuer bool
	// WrongAudience sets aud to another client.
	WrongAudience bool
	// ExtraAudience adds the untrusted audience "untrusted-client" to
	// aud, with azp as the mode says.
	ExtraAudience ExtraAudienceMode
	// WrongNonce sends a nonce other than the one asked for.
	WrongNonce bool
	// DropNonce leaves the nonce out.
	DropNonce bool
	// Expired dates the ID token an hour ago: exp is 10 minutes in the
	// past, well beyond any clock skew.
	Expired bool
	// IssuedInFuture dates iat (and exp) an hour from now.
	IssuedInFuture bool
	// UnknownKID signs with a fresh key whose kid the JWKS did not list
	// before; see the modes.
	UnknownKID UnknownKIDMode
	// BadAtHash sends an at_hash that does not match the access token.
	BadAtHash bool
	// UserinfoSubjectMismatch makes userinfo answer another sub than the
	// ID token.
	UserinfoSubjectMismatch bool
	// DiscoveryIssuerMismatch makes the discovery document's issuer
	// differ from the real one by one byte.
	DiscoveryIssuerMismatch bool
	// WrongIssParam makes the RFC 9207 iss on the redirect differ from
	// the issuer by one byte.
	WrongIssParam bool
	// ErrorCallback redirects with error=access_denied and an
	// error_description instead of a code.
	ErrorCallback bool
	// TokenError makes the token endpoint answer 400 invalid_grant
	// (in the persona's own error format).
	TokenError bool
	// Slow delays every response of the persona.
	Slow time.Duration
	// Oversized pads token, discovery and JWKS responses past 1 MiB
	// (still valid JSON, with a "padding" member).
	Oversized bool
}

// ExtraAudienceMode says how [Misbehavior.ExtraAudience] sets azp.
type ExtraAudienceMode int

// ExtraAudience modes.
const (
	ExtraAudienceOff      ExtraAudienceMode = iota
	ExtraAudienceWithAZP                    // azp is the client: only the extra audience is wrong
	ExtraAudienceNoAZP                      // several audiences and no azp
	ExtraAudienceWrongAZP                   // azp names the untrusted audience
)

// UntrustedAudience is the audience ExtraAudience and WrongAudience use.
const UntrustedAudience = "untrusted-client"

// UnknownKIDMode says when the key of [Misbehavior.UnknownKID] appears in
// the JWKS.
type UnknownKIDMode int

// UnknownKID modes.
const (
	UnknownKIDOff UnknownKIDMode = iota
	// UnknownKIDRefetch publishes the fresh key in every JWKS served
	// after it first signed: a verifier that cached the JWKS earlier sees
	// an unknown kid and succeeds after one refetch.
	UnknownKIDRefetch
	// UnknownKIDNever never publishes it: refetching cannot help.
	UnknownKIDNever
)
