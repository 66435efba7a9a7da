// Package outcome is Sallyport's vocabulary of decisions (DESIGN.md §4).
// Every decision carries one Code; the same code appears in the audit event,
// the metrics label, the admin API and, as a human sentence, on the page a
// person sees. Error is the one typed error that carries a code through the
// layers; only internal/web turns it into a response.
package outcome

import (
	"errors"
	"net/http"
)

// Code is one outcome of the vocabulary.
type Code string

// Setup of connections.
const (
	ValidationFailed Code = "validation_failed"
	Validated        Code = "validated"
	Activated        Code = "activated"
	Disabled         Code = "disabled"
	// Signing keys: a new key is published in the JWKS before it signs.
	KeyPublished Code = "key_published"
)

// Routing a sign-in to an org and connection.
const (
	Routed                   Code = "routed"
	NoOrgMatch               Code = "no_org_match"
	MultipleOrgMatches       Code = "multiple_org_matches"
	OrgConnectionUnavailable Code = "org_connection_unavailable"
)

// Callbacks from an upstream.
const (
	InvalidState        Code = "invalid_state"
	UpstreamError       Code = "upstream_error"
	CodeExchangeFailed  Code = "code_exchange_failed"
	IdentityInvalid     Code = "identity_invalid"
	EmailUnverified     Code = "email_unverified"
	NotAllowed          Code = "not_allowed"
	ProviderNotAssigned Code = "provider_not_assigned"
	AccountDisabled     Code = "account_disabled"
	SessionFailed       Code = "session_failed"
)

// Reconciliation that lets the person in.
const (
	ExistingIdentity   Code = "existing_identity"
	ExistingMembership Code = "existing_membership"
	InvitationConsumed Code = "invitation_consumed"
	JITCreated         Code = "jit_created"
	Linked             Code = "linked"
)

// Reconciliation that refuses safely.
const (
	LinkConfirmationRequired Code = "link_confirmation_required"
	AmbiguousEmailMatch      Code = "ambiguous_email_match"
	ProviderSubjectConflict  Code = "provider_subject_conflict"
)

// Enforcement.
const (
	SSORequired        Code = "sso_required"
	InvalidCredentials Code = "invalid_credentials"
	MFARequired        Code = "mfa_required"
	MFAFailed          Code = "mfa_failed"
	RateLimited        Code = "rate_limited"
	LastSignInMethod   Code = "last_sign_in_method"
	SignedOut          Code = "signed_out"
)

// The OpenID Provider's decisions about apps: an authorization code
// issued, tokens issued or revoked, and the refusals an app (not a person)
// causes. Their OAuth error names differ; internal/op maps them.
const (
	Authorized      Code = "authorized"
	TokenIssued     Code = "token_issued"
	TokenRevoked    Code = "token_revoked"
	InvalidClient   Code = "invalid_client"
	InvalidGrant    Code = "invalid_grant"
	LoginRequired   Code = "login_required"
	ConsentRequired Code = "consent_required"
	ConsentDenied   Code = "consent_denied"
)

// General codes for what the vocabulary above does not name: malformed
// input, an id that is missing (or foreign: org admins cannot tell the two
// apart), a change that clashes with existing state, and our own failures,
// which an outsider can never cause.
const (
	InvalidRequest Code = "invalid_request"
	NotFound       Code = "not_found"
	Conflict       Code = "conflict"
	Internal       Code = "internal"
)

type codeInfo struct {
	status   int
	sentence string
}

// codes is the single table of every code's HTTP status and default
// sentence: a person must be able to act on the sentence.
var codes = map[Code]codeInfo{
	ValidationFailed: {http.StatusUnprocessableEntity, "The connection could not be validated. Check its settings and try again."},
	Validated:        {http.StatusOK, "The connection was validated."},
	Activated:        {http.StatusOK, "The connection is active."},
	Disabled:         {http.StatusOK, "It is disabled."},
	KeyPublished:     {http.StatusOK, "The new signing key is published; it starts signing after the rotation delay."},

	Routed:                   {http.StatusOK, "Continuing to your organization's sign-in."},
	NoOrgMatch:               {http.StatusNotFound, "No organization uses single sign-on for this email domain. Check the address, or choose another way to sign in."},
	MultipleOrgMatches:       {http.StatusConflict, "More than one organization claims this email domain. Ask your administrator for your organization's sign-in link."},
	OrgConnectionUnavailable: {http.StatusServiceUnavailable, "Your organization's sign-in is not available right now. Ask your administrator to check its connection."},

	InvalidState:        {http.StatusBadRequest, "This sign-in attempt is invalid or has expired. Please start again."},
	UpstreamError:       {http.StatusBadGateway, "The sign-in provider reported an error. Please try again, or choose another way to sign in."},
	CodeExchangeFailed:  {http.StatusBadGateway, "We could not complete sign-in with the provider: it is unreachable or misconfigured. Please try again later."},
	IdentityInvalid:     {http.StatusBadRequest, "The identity the provider sent could not be verified. Please start again."},
	EmailUnverified:     {http.StatusForbidden, "Your email address could not be verified with this provider. Verify it there, or choose another way to sign in."},
	NotAllowed:          {http.StatusForbidden, "This account is not allowed to sign in here. Ask your administrator for access."},
	ProviderNotAssigned: {http.StatusForbidden, "You are not allowed to sign in with this provider. Use the sign-in method your administrator assigned to you."},
	AccountDisabled:     {http.StatusForbidden, "This account is disabled. Ask your administrator to enable it."},
	SessionFailed:       {http.StatusInternalServerError, "We could not start your session. Please try again."},

	ExistingIdentity:   {http.StatusOK, "Signed in."},
	ExistingMembership: {http.StatusOK, "Signed in to your organization."},
	InvitationConsumed: {http.StatusOK, "Your invitation was accepted."},
	JITCreated:         {http.StatusOK, "Your account was created."},
	Linked:             {http.StatusOK, "The sign-in method was linked to your account."},

	LinkConfirmationRequired: {http.StatusConflict, "An account with this email address already exists. Sign in to that account first, then link this provider from your account page."},
	AmbiguousEmailMatch:      {http.StatusConflict, "We could not tell which account this sign-in belongs to. Ask your administrator for help."},
	ProviderSubjectConflict:  {http.StatusConflict, "This provider account is already linked to another user. Sign in with it to use that account instead."},

	SSORequired:        {http.StatusForbidden, "Your organization requires single sign-on. Continue with your organization's sign-in."},
	InvalidCredentials: {http.StatusUnauthorized, "The email or password is incorrect."},
	MFARequired:        {http.StatusUnauthorized, "Enter the code from your authenticator app to finish signing in."},
	MFAFailed:          {http.StatusUnauthorized, "That code is not valid. Enter the current code from your authenticator app."},
	RateLimited:        {http.StatusTooManyRequests, "Too many attempts. Please wait a moment and try again."},
	SignedOut:          {http.StatusOK, "You are signed out."},
	LastSignInMethod:   {http.StatusConflict, "This is your last way to sign in, so it cannot be removed. Add another method first."},

	Authorized:      {http.StatusOK, "Signed in to the app."},
	TokenIssued:     {http.StatusOK, "Tokens were issued to the app."},
	TokenRevoked:    {http.StatusOK, "The token was revoked."},
	InvalidClient:   {http.StatusUnauthorized, "The app could not be identified. Its administrator should check its client id and secret."},
	InvalidGrant:    {http.StatusBadRequest, "This authorization is invalid, expired or already used. Go back to the app and sign in again."},
	LoginRequired:   {http.StatusUnauthorized, "You need to sign in first. Go back to the app and sign in."},
	ConsentRequired: {http.StatusForbidden, "The app needs your permission first. Go back to the app and sign in again."},
	ConsentDenied:   {http.StatusForbidden, "You did not allow the app to use your account. Go back to the app if you change your mind."},

	InvalidRequest: {http.StatusBadRequest, "The request was malformed. Please go back and try again."},
	NotFound:       {http.StatusNotFound, "Nothing was found here."},
	Conflict:       {http.StatusConflict, "This change conflicts with existing data. Reload and try again."},
	Internal:       {http.StatusInternalServerError, "Something went wrong on our side. Please try again."},
}

// Known reports whether c is part of the vocabulary.
func (c Code) Known() bool { _, ok := codes[c]; return ok }

// Status is the HTTP status a response with this outcome carries.
func (c Code) Status() int {
	if info, ok := codes[c]; ok {
		return info.status
	}
	return http.StatusInternalServerError
}

// Sentence is the default message a person reads for this outcome.
func (c Code) Sentence() string {
	if info, ok := codes[c]; ok {
		return info.sentence
	}
	return codes[Internal].sentence
}

// Success reports whether the outcome lets the decision proceed.
func (c Code) Success() bool { return c.Status() < 400 }

// Codes lists the whole vocabulary (for metrics pre-registration and docs).
func Codes() []Code {
	out := make([]Code, 0, len(codes))
	for c := range codes {
		out = append(out, c)
	}
	return out
}

// Error is a decision that carries an outcome code. Message is shown to the
// person (the code's Sentence when empty); Err is the internal cause, for
// logs and audit only, never shown.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// New returns an outcome error with a message a person can act on.
func New(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// Wrap returns an outcome error whose cause is err; the person sees the
// code's default sentence.
func Wrap(code Code, err error) *Error { return &Error{Code: code, Err: err} }

// Error describes the outcome with its internal cause, for logs.
func (e *Error) Error() string {
	msg := string(e.Code) + ": " + e.Sentence()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Sentence is what the person reads.
func (e *Error) Sentence() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Code.Sentence()
}

// From finds the outcome in err's chain. An error without one is our own
// failure: it becomes Internal, keeping err as the cause.
func From(err error) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	return &Error{Code: Internal, Err: err}
}

// CodeOf returns the outcome code of err ("" for nil).
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return From(err).Code
}
