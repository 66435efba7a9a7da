package facebook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/sallyport/sallyport/internal/netguard"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
	"github.com/sallyport/sallyport/internal/upstream"
)

// DefaultGraphVersion is the Graph API version used when
// [Config.GraphVersion] is empty. See the package documentation for why
// it is pinned.
const DefaultGraphVersion = "v19.0"

// Default hosts; the version is appended to each.
const (
	DefaultDialogBaseURL = "https://www.facebook.com"
	DefaultGraphBaseURL  = "https://graph.facebook.com"
)

// MeFields are the User fields GET /me asks for.
const MeFields = "id,name,first_name,last_name,email,picture"

// maxBody caps every response body this package reads.
const maxBody = 1 << 20

// defaultScopes are requested when [Config.Scopes] is empty.
var defaultScopes = []string{"email", "public_profile"}

// graphVersion is what a pinned Graph API version looks like.
var graphVersion = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,3}$`)

// Internal causes, carried by the *outcome.Error values Exchange returns.
var (
	errCallback = errors.New("facebook: the callback carries an error")
	errNoCode   = errors.New("facebook: the callback carries no code")
	errToken    = errors.New("facebook: redeeming the code failed")
	errGraph    = errors.New("facebook: GET /me failed")
	errIdentity = errors.New("facebook: GET /me gave no usable id")
)

// Config configures [New].
type Config struct {
	// ClientID is the Facebook app id; ClientSecret is the app secret.
	ClientID     string
	ClientSecret string
	// Scopes are the permissions requested; empty means email and
	// public_profile.
	Scopes []string
	// GraphVersion pins the Graph API and dialog version, such as "v19.0";
	// empty means DefaultGraphVersion. Always pinned: see the package
	// documentation.
	GraphVersion string
	// AuthURL overrides the login dialog URL
	// (www.facebook.com/{version}/dialog/oauth); for tests.
	AuthURL string
	// TokenURL overrides the code exchange URL
	// (GraphBaseURL/{version}/oauth/access_token); for tests.
	TokenURL string
	// GraphBaseURL overrides https://graph.facebook.com, the version
	// appended; for tests.
	GraphBaseURL string
	// AuthParams are extra login dialog parameters (display, auth_type…);
	// the ones the provider sets itself are refused.
	AuthParams map[string]string
	// HTTPClient makes every request; nil means a [netguard] client.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now. Nothing Facebook sends is
	// time-checked (there is no ID token); it is here so every provider
	// is wired alike.
	Now func() time.Time
	// Logger receives debug lines (never a token or proof); nil discards.
	Logger *slog.Logger
}

// Provider is a Facebook connection. It implements [upstream.Provider]
// and [upstream.PKCEUser]; its methods are safe for concurrent use.
type Provider struct {
	oauth      oauth2.Config // RedirectURL is set per request; Scopes unused
	scope      string        // the permissions, comma-separated
	meURL      string
	secret     string
	authParams map[string]string
	client     *http.Client
	now        func() time.Time
	log        *slog.Logger
}

var (
	_ upstream.Provider = (*Provider)(nil)
	_ upstream.PKCEUser = (*Provider)(nil)
)

// New checks cfg and returns a provider.
func New(cfg Config) (*Provider, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("facebook: app id (ClientID) and app secret (ClientSecret) are required")
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = defaultScopes
	}
	for _, s := range scopes {
		if !upstream.IsScopeName(s) {
			return nil, fmt.Errorf("facebook: scope %q must be one permission name", s)
		}
	}
	// Refused, not dropped as oidc does: the request is built here, and a
	// reserved name in the configuration is a mistake to report at start.
	if err := upstream.CheckAuthParams(cfg.AuthParams); err != nil {
		return nil, fmt.Errorf("facebook: %w", err)
	}
	version := cfg.GraphVersion
	if version == "" {
		version = DefaultGraphVersion
	}
	if !graphVersion.MatchString(version) {
		return nil, fmt.Errorf("facebook: GraphVersion %q must look like v19.0", version)
	}
	graph := DefaultGraphBaseURL
	if cfg.GraphBaseURL != "" {
		if err := upstream.CheckEndpoint(cfg.GraphBaseURL); err != nil {
			return nil, fmt.Errorf("facebook: GraphBaseURL: %w", err)
		}
		graph = strings.TrimSuffix(cfg.GraphBaseURL, "/")
	}
	authURL := DefaultDialogBaseURL + "/" + version + "/dialog/oauth"
	tokenURL := graph + "/" + version + "/oauth/access_token"
	for _, o := range []struct {
		name string
		val  string
		dst  *string
	}{{"AuthURL", cfg.AuthURL, &authURL}, {"TokenURL", cfg.TokenURL, &tokenURL}} {
		if o.val == "" {
			continue
		}
		if err := upstream.CheckEndpoint(o.val); err != nil {
			return nil, fmt.Errorf("facebook: %s: %w", o.name, err)
		}
		*o.dst = o.val
	}

	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = netguard.New(netguard.Config{Logger: log})
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Provider{
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		},
		scope:      strings.Join(scopes, ","), // Facebook's documented separator; x/oauth2 would join with spaces
		meURL:      graph + "/" + version + "/me",
		secret:     cfg.ClientSecret,
		authParams: cfg.AuthParams,
		client:     client,
		now:        now,
		log:        log,
	}, nil
}

// AppSecretProof returns the appsecret_proof Graph API calls carry: the
// hex HMAC-SHA256 of the access token keyed with the app secret.
func AppSecretProof(appSecret, accessToken string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(accessToken))
	return hex.EncodeToString(m.Sum(nil))
}

// UsesPKCE reports that Facebook's manually built flow takes PKCE.
func (p *Provider) UsesPKCE() bool { return true }

// AuthCodeURL returns the login dialog URL for req. It refuses a request
// without state, redirect URI or PKCE challenge. req.Nonce and
// req.LoginHint are not sent (the classic dialog takes neither); a
// req.Prompt of "login" asks Facebook to re-authenticate the person.
func (p *Provider) AuthCodeURL(_ context.Context, req upstream.AuthRequest) (string, error) {
	if req.State == "" || req.RedirectURI == "" || req.CodeChallenge == "" {
		return "", errors.New("facebook: an authorization request needs a state, a redirect URI and a PKCE challenge")
	}
	cfg := p.oauth
	cfg.RedirectURL = req.RedirectURI
	var opts []oauth2.AuthCodeOption
	for k, v := range p.authParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	opts = append(opts,
		oauth2.SetAuthURLParam("scope", p.scope),
		oauth2.SetAuthURLParam("code_challenge", req.CodeChallenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	if req.Prompt == "login" {
		opts = append(opts, oauth2.SetAuthURLParam("auth_type", "reauthenticate"))
	}
	return cfg.AuthCodeURL(req.State, opts...), nil
}

// Exchange redeems the callback's code and reads the person from GET /me
// (see the package documentation for the rules). Errors are
// *outcome.Error: upstream_error for an error callback,
// code_exchange_failed when redeeming the code or the Graph call fails,
// identity_invalid when /me names no id.
func (p *Provider) Exchange(ctx context.Context, cb upstream.Callback) (upstream.Identity, error) {
	if e := cb.Params.Get("error"); e != "" {
		return upstream.Identity{}, outcome.Wrap(outcome.UpstreamError, fmt.Errorf("%w: error=%q error_reason=%q error_code=%q error_description=%q",
			errCallback, upstream.Clip(e), upstream.Clip(cb.Params.Get("error_reason")), upstream.Clip(cb.Params.Get("error_code")), upstream.Clip(cb.Params.Get("error_description"))))
	}
	code := cb.Params.Get("code")
	if code == "" {
		return upstream.Identity{}, outcome.Wrap(outcome.UpstreamError, errNoCode)
	}
	token, err := p.redeem(ctx, code, cb)
	if err != nil {
		return upstream.Identity{}, outcome.Wrap(outcome.CodeExchangeFailed, err)
	}
	me, err := p.me(ctx, token)
	if err != nil {
		return upstream.Identity{}, outcome.Wrap(outcome.CodeExchangeFailed, err)
	}
	return p.identity(ctx, me)
}

// redeem exchanges the code for an access token.
func (p *Provider) redeem(ctx context.Context, code string, cb upstream.Callback) (string, error) {
	cfg := p.oauth
	cfg.RedirectURL = cb.RedirectURI
	var opts []oauth2.AuthCodeOption
	if cb.CodeVerifier != "" {
		opts = append(opts, oauth2.VerifierOption(cb.CodeVerifier))
	}
	tok, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.client), code, opts...)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return "", fmt.Errorf("%w: HTTP %d: %s", errToken, re.Response.StatusCode, graphError(re.Body, re.ErrorCode))
		}
		// x/oauth2 reports an answer without access_token, transport and
		// parse failures here; none of them carries a token.
		return "", fmt.Errorf("%w: %v", errToken, upstream.RedactURL(err))
	}
	return tok.AccessToken, nil
}

// meAnswer is the part of GET /me this package reads.
type meAnswer struct {
	ID        json.RawMessage `json:"id"`
	Name      string          `json:"name"`
	FirstName string          `json:"first_name"`
	LastName  string          `json:"last_name"`
	Email     string          `json:"email"`
	Picture   struct {
		Data struct {
			URL          string `json:"url"`
			IsSilhouette bool   `json:"is_silhouette"`
		} `json:"data"`
	} `json:"picture"`
}

// me calls GET /me with the token in the Authorization header and the
// appsecret_proof in the query. Errors never carry the token or the proof.
func (p *Provider) me(ctx context.Context, token string) (meAnswer, error) {
	q := url.Values{"fields": {MeFields}, "appsecret_proof": {AppSecretProof(p.secret, token)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.meURL+"?"+q.Encode(), nil)
	if err != nil {
		return meAnswer{}, fmt.Errorf("%w: %v", errGraph, upstream.RedactURL(err))
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return meAnswer{}, fmt.Errorf("%w: %v", errGraph, upstream.RedactURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		return meAnswer{}, fmt.Errorf("%w: reading the body: %v", errGraph, upstream.RedactURL(err))
	case len(body) > maxBody:
		return meAnswer{}, fmt.Errorf("%w: body over %d bytes", errGraph, maxBody)
	case resp.StatusCode != http.StatusOK:
		return meAnswer{}, fmt.Errorf("%w: HTTP %d: %s", errGraph, resp.StatusCode, graphError(body, ""))
	}
	var me meAnswer
	if err := json.Unmarshal(body, &me); err != nil {
		return meAnswer{}, fmt.Errorf("%w: %v", errGraph, err)
	}
	return me, nil
}

// identity applies the identity rules to a /me answer.
func (p *Provider) identity(ctx context.Context, me meAnswer) (upstream.Identity, error) {
	var id string
	if err := json.Unmarshal(me.ID, &id); err != nil || id == "" || len(id) > 255 {
		return upstream.Identity{}, outcome.Wrap(outcome.IdentityInvalid, fmt.Errorf("%w: id is %s", errIdentity, describe(me.ID)))
	}
	claims := map[string]any{"id": id}
	for k, v := range map[string]string{"name": me.Name, "first_name": me.FirstName, "last_name": me.LastName, "email": me.Email} {
		if v != "" {
			claims[k] = v
		}
	}
	ident := upstream.Identity{Subject: id, Name: me.Name, Claims: claims}
	if pic := me.Picture.Data; pic.URL != "" && !pic.IsSilhouette {
		ident.Picture = pic.URL
		claims["picture"] = pic.URL
	}
	if me.Email != "" {
		norm, err := store.NormalizeEmail(me.Email)
		if err != nil {
			p.log.DebugContext(ctx, "facebook: the email is not a valid address, so the identity has no email", "subject", id)
		} else {
			ident.Email = norm
		}
	}
	// Facebook never says whether an address is verified (DESIGN.md §7).
	ident.EmailVerified = false
	return ident, nil
}

// graphError describes a Graph API error body, {"error":{"message",
// "type","code","error_subcode"}}, falling back to an OAuth error code.
func graphError(body []byte, oauthCode string) string {
	var ge struct {
		Error *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    int    `json:"code"`
			Subcode int    `json:"error_subcode"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &ge) == nil && ge.Error != nil {
		return fmt.Sprintf("%s code %d subcode %d: %q", upstream.Clip(ge.Error.Type), ge.Error.Code, ge.Error.Subcode, upstream.Clip(ge.Error.Message))
	}
	if oauthCode != "" {
		return fmt.Sprintf("error=%q", upstream.Clip(oauthCode))
	}
	return "no Graph error in the body"
}

// describe names a raw JSON id for an error.
func describe(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0, string(raw) == "null":
		return "missing or null"
	case raw[0] == '"':
		return "an empty or overlong string"
	default:
		return fmt.Sprintf("%s, not a string", upstream.Clip(string(raw)))
	}
}
