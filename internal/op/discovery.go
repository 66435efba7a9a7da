package op

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/sallyport/sallyport/internal/op/keys"
)

// supportedScopes are the scopes the provider understands; others are
// ignored (OpenID Connect Core §3.1.2.1).
var supportedScopes = []string{"openid", "profile", "email", "offline_access"}

// discovery is the OpenID Provider metadata (OpenID Connect Discovery 1.0
// §3). It advertises only what the provider does: a client that reads it
// never offers something the provider would refuse.
type discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserInfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods     []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	PromptValuesSupported             []string `json:"prompt_values_supported"`
	ClaimsParameterSupported          bool     `json:"claims_parameter_supported"`
	RequestParameterSupported         bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	AuthorizationResponseISSSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// authMethods are the client authentication methods the token and
// revocation endpoints accept ("none" is a public client with PKCE).
var authMethods = []string{"client_secret_basic", "client_secret_post", "none"}

func discoveryDocument(issuer string) ([]byte, error) {
	d := discovery{
		Issuer:                            issuer,
		AuthorizationEndpoint:             issuer + AuthorizePath,
		TokenEndpoint:                     issuer + TokenPath,
		UserInfoEndpoint:                  issuer + UserInfoPath,
		JWKSURI:                           issuer + JWKSPath,
		RevocationEndpoint:                issuer + RevokePath,
		EndSessionEndpoint:                issuer + LogoutPath,
		ScopesSupported:                   supportedScopes,
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{"authorization_code", "refresh_token"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{keys.RS256, keys.ES256, keys.EdDSA},
		TokenEndpointAuthMethodsSupported: authMethods,
		RevocationEndpointAuthMethods:     authMethods,
		CodeChallengeMethodsSupported:     []string{"S256"},
		ClaimsSupported: []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "amr", "idp",
			"email", "email_verified", "name", "org", "org_id", "org_role"},
		PromptValuesSupported:             []string{"none", "login", "consent", "select_account"},
		AuthorizationResponseISSSupported: true,
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("op: discovery document: %w", err)
	}
	return append(b, '\n'), nil
}

// handleDiscovery serves the metadata. Its issuer is byte-identical to the
// configured one, which is the URL the document is served under.
func (p *Provider) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write(p.discovery)
}
