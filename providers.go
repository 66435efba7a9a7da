package sallyport

import (
	"context"

	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/signin"
	"github.com/sallyport/sallyport/internal/upstream"
	"github.com/sallyport/sallyport/internal/upstream/apple"
	"github.com/sallyport/sallyport/internal/upstream/facebook"
	"github.com/sallyport/sallyport/internal/upstream/github"
	"github.com/sallyport/sallyport/internal/upstream/gitlab"
	"github.com/sallyport/sallyport/internal/upstream/google"
	"github.com/sallyport/sallyport/internal/upstream/microsoft"
	"github.com/sallyport/sallyport/internal/upstream/oidc"
)

// providerKinds maps each connection kind this build signs in through to
// its provider constructor. A configured kind missing here stops `serve`
// at start with a clear error, and is never shown on /login.
var providerKinds = map[string]signin.NewProvider{
	config.KindOIDC: func(ctx context.Context, p signin.ProviderParams) (upstream.Provider, error) {
		return oidc.New(ctx, oidc.Config{
			Issuer: p.Settings.Issuer, ClientID: p.Settings.ClientID, ClientSecret: p.Secret,
			Scopes: p.Settings.Scopes, AllowedAlgs: p.Settings.AllowedAlgs, AuthParams: p.Settings.AuthParams,
			ClaimMapping: oidc.ClaimMapping(p.Settings.ClaimMapping), HTTPClient: p.HTTPClient, Now: p.Now, Logger: p.Logger,
		})
	},
	config.KindMicrosoft: func(ctx context.Context, p signin.ProviderParams) (upstream.Provider, error) {
		return microsoft.New(ctx, microsoft.Config{
			ClientID: p.Settings.ClientID, ClientSecret: p.Secret, Tenant: p.Settings.Tenant,
			AllowedTenants: p.Settings.AllowedTenants, Scopes: p.Settings.Scopes, AllowedAlgs: p.Settings.AllowedAlgs,
			AuthParams: p.Settings.AuthParams, HTTPClient: p.HTTPClient, Now: p.Now, Logger: p.Logger,
		})
	},
	config.KindGoogle: func(ctx context.Context, p signin.ProviderParams) (upstream.Provider, error) {
		return google.New(ctx, google.Config{
			ClientID: p.Settings.ClientID, ClientSecret: p.Secret, Scopes: p.Settings.Scopes,
			HostedDomains: p.Settings.HostedDomains, AuthParams: p.Settings.AuthParams,
			HTTPClient: p.HTTPClient, Now: p.Now, Logger: p.Logger,
		})
	},
	config.KindGitLab: func(ctx context.Context, p signin.ProviderParams) (upstream.Provider, error) {
		return gitlab.New(ctx, gitlab.Config{
			ClientID: p.Settings.ClientID, ClientSecret: p.Secret, BaseURL: p.Settings.BaseURL, Scopes: p.Settings.Scopes,
			AuthParams: p.Settings.AuthParams, HTTPClient: p.HTTPClient, Now: p.Now, Logger: p.Logger,
		})
	},
	config.KindApple: func(ctx context.Context, p signin.ProviderParams) (upstream.Provider, error) {
		return apple.New(apple.Config{
			ClientID: p.Settings.ClientID, TeamID: p.Settings.TeamID, KeyID: p.Settings.KeyID, PrivateKeyPEM: p.Secret,
			Scopes: p.Settings.Scopes, HTTPClient: p.HTTPClient, Now: p.Now, Logger: p.Logger,
		})
	},
	config.KindGitHub: func(ctx context.Context, p signin.ProviderParams) (upstream.Provider, error) {
		return github.New(github.Config{
			ClientID: p.Settings.ClientID, ClientSecret: p.Secret, Scopes: p.Settings.Scopes,
			BaseURL: p.Settings.BaseURL, AuthParams: p.Settings.AuthParams,
			HTTPClient: p.HTTPClient, Now: p.Now, Logger: p.Logger,
		})
	},
	config.KindFacebook: func(ctx context.Context, p signin.ProviderParams) (upstream.Provider, error) {
		return facebook.New(facebook.Config{
			ClientID: p.Settings.ClientID, ClientSecret: p.Secret, Scopes: p.Settings.Scopes,
			AuthParams: p.Settings.AuthParams, HTTPClient: p.HTTPClient, Now: p.Now, Logger: p.Logger,
		})
	},
}
