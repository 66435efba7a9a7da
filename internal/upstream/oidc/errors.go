package oidc

import "errors"

// Causes of a refusal. Every error Exchange, Verify and the userinfo step
// return is an *outcome.Error whose cause wraps one of these, so logs and
// audit events name the exact check that failed (tests branch on them with
// errors.Is); the person only ever sees the outcome's sentence.
var (
	// ErrDiscovery: the discovery document could not be fetched or is
	// unusable (status, JSON, a missing or malformed endpoint).
	ErrDiscovery = errors.New("oidc: discovery failed")
	// ErrDiscoveryIssuer: the discovery document names an issuer other than
	// the configured one, byte for byte (OIDC Discovery §4.3).
	ErrDiscoveryIssuer = errors.New("oidc: discovery issuer does not match the configured issuer")
	// ErrJWKS: the JWKS could not be fetched or parsed and no keys are
	// cached. The provider is unreachable or misconfigured: the outcome is
	// code_exchange_failed, not identity_invalid.
	ErrJWKS = errors.New("oidc: JWKS unavailable")
	// ErrUnknownKey: no signing key with the token's kid, even after the one
	// refetch the rate limit allows.
	ErrUnknownKey = errors.New("oidc: no signing key with this kid")
	// ErrMalformed: the token is not a compact JWS with a JSON object of
	// claims, or a registered claim has the wrong type.
	ErrMalformed = errors.New("oidc: malformed token")
	// ErrAlgorithm: the header alg is not on the connection's allow-list
	// ("none" never is).
	ErrAlgorithm = errors.New("oidc: signature algorithm not allowed")
	// ErrKeyType: the key found by kid does not fit the header alg (an RSA
	// key for ES256, a JWK whose own alg differs, an RSA key under 2048
	// bits).
	ErrKeyType = errors.New("oidc: key does not fit the signature algorithm")
	// ErrSignature: the signature does not verify with the key.
	ErrSignature = errors.New("oidc: signature invalid")
	// ErrIssuer: iss is not the configured issuer, byte for byte (or the
	// IssuerCheck refused it).
	ErrIssuer = errors.New("oidc: iss mismatch")
	// ErrAudience: aud lacks our client id or names an untrusted audience.
	ErrAudience = errors.New("oidc: aud mismatch")
	// ErrAuthorizedParty: azp is missing where aud has several values, or is
	// present and is not our client id.
	ErrAuthorizedParty = errors.New("oidc: azp mismatch")
	// ErrExpired: exp is missing or is past, beyond the allowed skew.
	ErrExpired = errors.New("oidc: token expired")
	// ErrIssuedInFuture: iat is missing or is in the future, beyond the skew.
	ErrIssuedInFuture = errors.New("oidc: token issued in the future")
	// ErrNotYetValid: nbf is in the future, beyond the skew.
	ErrNotYetValid = errors.New("oidc: token not yet valid")
	// ErrNonce: nonce is missing or differs from the one the flow sent.
	ErrNonce = errors.New("oidc: nonce mismatch")
	// ErrAtHash: at_hash does not match the access token.
	ErrAtHash = errors.New("oidc: at_hash mismatch")
	// ErrSubject: sub is missing, not a string, empty or over 255 bytes.
	ErrSubject = errors.New("oidc: sub invalid")
	// ErrUserinfoSubject: the userinfo sub differs from the ID token's
	// (OIDC Core §5.3.2): the answer may be about someone else.
	ErrUserinfoSubject = errors.New("oidc: userinfo sub does not match the ID token")
	// ErrUserinfo: the userinfo endpoint failed or answered something
	// unusable.
	ErrUserinfo = errors.New("oidc: userinfo failed")
	// ErrUpstream: the callback carries an error parameter.
	ErrUpstream = errors.New("oidc: the provider returned an error")
	// ErrMissingCode: the callback carries neither an error nor exactly one
	// code.
	ErrMissingCode = errors.New("oidc: callback has no single code parameter")
	// ErrTokenEndpoint: the code could not be redeemed (transport error,
	// non-2xx, an error body, no access_token or no id_token).
	ErrTokenEndpoint = errors.New("oidc: token endpoint failed")
)
