package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

func TestDefault(t *testing.T) {
	want := &Config{
		Issuer:     "http://127.0.0.1:8080",
		Listen:     "127.0.0.1:8080",
		Database:   "sqlite:./sallyport-data/sallyport.db",
		Log:        Log{Level: "info", Format: "auto"},
		Login:      Login{Password: true, TOTP: true},
		Sessions:   Sessions{Idle: Duration(12 * time.Hour), Absolute: Duration(168 * time.Hour)},
		RateLimits: RateLimits{Enabled: true, PerIPPerMinute: 60},
	}
	got := Default()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Default() (-want +got):\n%s", diff)
	}
	if !got.DatabaseIsDefaultSQLite() {
		t.Error("Default() database is not the default SQLite")
	}
	if w := got.Warnings(); w != nil {
		t.Errorf("Default() has warnings: %v", w)
	}
	// Each call is a fresh value: a caller's change must not leak.
	got.Log.Level = "debug"
	if Default().Log.Level != "info" {
		t.Error("Default() shares state between calls")
	}
}

func TestApplyDefaults(t *testing.T) {
	c := &Config{
		Connections: []Connection{{Slug: "a"}, {Slug: "b", AllowedAlgs: []string{"ES256"}}},
		Orgs:        []Org{{Slug: "acme", Connections: []Connection{{Slug: "c"}}}, {Slug: "x", Name: "X", ProviderAssignment: "assigned"}},
		Clients:     []Client{{ID: "app"}, {ID: "b", IDTokenSigningAlg: "EdDSA", AccessTokenFormat: "jwt", AccessTokenTTL: Duration(time.Minute), RefreshTokenTTL: Duration(time.Hour)}},
	}
	want := &Config{
		Connections: []Connection{{Slug: "a", AllowedAlgs: []string{"RS256"}}, {Slug: "b", AllowedAlgs: []string{"ES256"}}},
		Orgs: []Org{
			{Slug: "acme", Name: "acme", ProviderAssignment: "open", Connections: []Connection{{Slug: "c", AllowedAlgs: []string{"RS256"}}}},
			{Slug: "x", Name: "X", ProviderAssignment: "assigned"},
		},
		Clients: []Client{
			{ID: "app", IDTokenSigningAlg: "RS256", AccessTokenFormat: "opaque", AccessTokenTTL: Duration(10 * time.Minute), RefreshTokenTTL: Duration(720 * time.Hour)},
			{ID: "b", IDTokenSigningAlg: "EdDSA", AccessTokenFormat: "jwt", AccessTokenTTL: Duration(time.Minute), RefreshTokenTTL: Duration(time.Hour)},
		},
	}
	c.ApplyDefaults()
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("ApplyDefaults (-want +got):\n%s", diff)
	}
	c.ApplyDefaults()
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("ApplyDefaults twice (-want +got):\n%s", diff)
	}
}

func TestDatabaseIsDefaultSQLite(t *testing.T) {
	tests := []struct {
		db   string
		want bool
	}{
		{"sqlite:./sallyport-data/sallyport.db", true},
		{"sqlite:sallyport-data/sallyport.db", true},
		{"sqlite:./sallyport-data/../sallyport-data/sallyport.db", true},
		{"sqlite:./sallyport-data/other.db", false},
		{"sqlite:/var/lib/sallyport-data/sallyport.db", false},
		{"sqlite:./elsewhere/sallyport.db", false},
		{"sqlite:", false},
		{"postgres://db/sallyport-data/sallyport.db", false},
		{"", false},
	}
	for _, tt := range tests {
		c := &Config{Database: tt.db}
		if got := c.DatabaseIsDefaultSQLite(); got != tt.want {
			t.Errorf("DatabaseIsDefaultSQLite(%q) = %v, want %v", tt.db, got, tt.want)
		}
	}
}

func TestAutoProvisionOrDefault(t *testing.T) {
	tests := []struct {
		in   *bool
		want bool
	}{{nil, true}, {ptr(true), true}, {ptr(false), false}}
	for _, tt := range tests {
		if got := (Connection{AutoProvision: tt.in}).AutoProvisionOrDefault(); got != tt.want {
			t.Errorf("AutoProvisionOrDefault(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		text string
		d    time.Duration
		out  string // how it is written back
	}{
		{"12h", 12 * time.Hour, "12h"},
		{"168h", 168 * time.Hour, "168h"},
		{"10m", 10 * time.Minute, "10m"},
		{"90s", 90 * time.Second, "1m30s"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"1h0m5s", time.Hour + 5*time.Second, "1h0m5s"},
		{"1.5s", 1500 * time.Millisecond, "1.5s"},
		{"0s", 0, "0s"},
		{"-1h", -time.Hour, "-1h"},
	}
	for _, tt := range tests {
		var d Duration
		if err := d.UnmarshalText([]byte(tt.text)); err != nil {
			t.Errorf("UnmarshalText(%q): %v", tt.text, err)
			continue
		}
		if time.Duration(d) != tt.d {
			t.Errorf("UnmarshalText(%q) = %v, want %v", tt.text, time.Duration(d), tt.d)
		}
		if out, _ := d.MarshalText(); string(out) != tt.out {
			t.Errorf("MarshalText(%v) = %q, want %q", tt.d, out, tt.out)
		}
	}
	for _, bad := range []string{"", "12", "twelve hours", "12 h"} {
		var d Duration
		if err := d.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("UnmarshalText(%q) = %v, want an error", bad, d)
		}
	}

	// yaml.v3 itself (not only Load) reads and writes duration strings.
	var s Sessions
	if err := yaml.Unmarshal([]byte("idle: 30m\nabsolute: 24h\n"), &s); err != nil {
		t.Fatal(err)
	}
	if s.Idle != Duration(30*time.Minute) || s.Absolute != Duration(24*time.Hour) {
		t.Errorf("yaml.Unmarshal = %+v", s)
	}
	out, err := yaml.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "idle: 30m\nabsolute: 24h\n" {
		t.Errorf("yaml.Marshal = %q", out)
	}
}

func TestProblemsError(t *testing.T) {
	ps := Problems{
		{Field: "", Message: "c.yaml: line 1: bad"},
		{Field: "issuer", Message: "is required"},
		{Field: "clients[0].redirect_uris[2]", Message: "must not contain a fragment"},
	}
	want := "c.yaml: line 1: bad\nissuer: is required\nclients[0].redirect_uris[2]: must not contain a fragment"
	if got := ps.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var err error = ps
	if err.Error() != want {
		t.Error("Problems does not work as an error")
	}
}
