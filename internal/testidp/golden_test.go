package testidp

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		must(t, os.MkdirAll("testdata", 0o755))
		must(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestGoldenDiscovery(t *testing.T) {
	idp := start(t, Config{})
	urls := map[string]string{
		Generic: idp.Endpoints(Generic).Discovery, Google: idp.Endpoints(Google).Discovery,
		Apple: idp.Endpoints(Apple).Discovery, GitLab: idp.Endpoints(GitLab).Discovery,
		"entra-common": idp.EntraEndpoints("common").Discovery,
	}
	for name, u := range urls {
		t.Run(name, func(t *testing.T) {
			resp := get(t, idp, u)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var v any
			must(t, json.Unmarshal(b, &v))
			out, err := json.MarshalIndent(v, "", "  ")
			must(t, err)
			golden(t, "discovery-"+name+".json", append(bytes.ReplaceAll(out, []byte(idp.URL()), []byte("{URL}")), '\n'))
		})
	}
}

// TestGoldenJWKSShape records each persona's JWK members, values aside.
func TestGoldenJWKSShape(t *testing.T) {
	idp := start(t, Config{})
	must(t, idp.UseAlg(GitLab, ES256))
	var out strings.Builder
	for _, name := range []string{Generic, "entra-common", GitLab} {
		u := idp.Endpoints(name).JWKS
		if name == "entra-common" {
			u = idp.EntraEndpoints("common").JWKS
		}
		resp := get(t, idp, u)
		var set struct{ Keys []map[string]any }
		must(t, json.NewDecoder(resp.Body).Decode(&set))
		resp.Body.Close()
		for _, k := range set.Keys {
			var members []string
			for m, v := range k {
				switch m {
				case "kty", "alg", "use", "crv", "issuer":
					members = append(members, m+"="+strings.ReplaceAll(v.(string), idp.URL(), "{URL}"))
				default:
					members = append(members, m)
				}
			}
			sort.Strings(members)
			out.WriteString(name + ": " + strings.Join(members, " ") + "\n")
		}
	}
	golden(t, "jwks-shape.txt", []byte(out.String()))
}

func TestGoldenChooserPage(t *testing.T) {
	idp := start(t, Config{Interactive: true})
	_, _, conf := oidcSetup(t, idp, Generic)
	must(t, idp.AddUser(Generic, User{Subject: "bob", Name: "Bob Example"}))
	resp := get(t, idp, conf.AuthCodeURL("s"))
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b = regexp.MustCompile(`name="(request|csrf)" value="[^"]*"`).ReplaceAll(b, []byte(`name="$1" value="…"`))
	golden(t, "chooser.html", b)
}
