package op

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBearerToken(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name              string
		method, target    string
		authorization     string
		contentType, body string
		want              string
		wantErr           error
	}{
		{name: "header", method: http.MethodGet, target: "/", authorization: "Bearer tok", want: "tok"},
		{name: "scheme in lower case", method: http.MethodGet, target: "/", authorization: "bearer tok", want: "tok"},
		{name: "form body", method: http.MethodPost, target: "/", contentType: form, body: "access_token=tok", want: "tok"},
		{name: "form body with charset", method: http.MethodPost, target: "/", contentType: form + "; charset=utf-8", body: "access_token=tok", want: "tok"},
		{name: "nothing", method: http.MethodGet, target: "/", wantErr: errNoToken},
		{name: "Basic", method: http.MethodGet, target: "/", authorization: "Basic dTpw", wantErr: errNoToken},
		{name: "empty bearer", method: http.MethodGet, target: "/", authorization: "Bearer  ", wantErr: errNoToken},
		{name: "scheme only", method: http.MethodGet, target: "/", authorization: "Bearer", wantErr: errNoToken},
		// RFC 6750 §2.3 allows the query; URLs end up in logs, so never.
		{name: "query", method: http.MethodGet, target: "/?access_token=tok", wantErr: errTwoTokens},
		{name: "query beside the header", method: http.MethodGet, target: "/?access_token=tok", authorization: "Bearer tok", wantErr: errTwoTokens},
		{name: "header and body", method: http.MethodPost, target: "/", authorization: "Bearer tok", contentType: form, body: "access_token=tok", wantErr: errTwoTokens},
		{name: "two in the body", method: http.MethodPost, target: "/", contentType: form, body: "access_token=a&access_token=b", wantErr: errTwoTokens},
		{name: "body of a GET", method: http.MethodGet, target: "/", contentType: form, body: "access_token=tok", wantErr: errNoToken},
		{name: "JSON body", method: http.MethodPost, target: "/", contentType: "application/json", body: `{"access_token":"tok"}`, wantErr: errNoToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.authorization != "" {
				r.Header.Set("Authorization", tt.authorization)
			}
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			got, err := bearerToken(r)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("bearerToken = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
