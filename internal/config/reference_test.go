package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The configuration reference in README.md is how operators learn the
// file; this test keeps it from drifting from the Config struct in either
// direction.
func TestReadmeDocumentsEveryKey(t *testing.T) {
	documented := readmeKeys(t)
	var want []string
	keyPaths(reflect.TypeFor[Config](), "", &want)

	for _, p := range want {
		if !slices.Contains(documented, p) {
			t.Errorf("README configuration reference lacks `%s`", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(want, p) {
			t.Errorf("README configuration reference documents `%s`, which Config does not have", p)
		}
	}
	seen := map[string]bool{}
	for _, p := range documented {
		if seen[p] {
			t.Errorf("README configuration reference documents `%s` twice", p)
		}
		seen[p] = true
	}
}

// keyPaths lists every YAML key path of t by its yaml tags: a struct's
// keys as "a.b", a list of structs' keys as "a[].b".
func keyPaths(t reflect.Type, prefix string, out *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		p := prefix + name
		*out = append(*out, p)
		switch ft := f.Type; {
		case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]():
			keyPaths(ft, p+".", out)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			keyPaths(ft.Elem(), p+"[].", out)
		}
	}
}

// readmeKeys returns the key in the first cell of each table row between
// the README's config-reference markers.
func readmeKeys(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "<!-- config-reference:start -->")
	section, _, ok2 := strings.Cut(section, "<!-- config-reference:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md lacks the config-reference markers")
	}
	var keys []string
	for line := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || strings.TrimSpace(cells[0]) != "" {
			continue
		}
		first := strings.TrimSpace(cells[1])
		if key, ok := strings.CutPrefix(first, "`"); ok && strings.HasSuffix(key, "`") {
			keys = append(keys, strings.TrimSuffix(key, "`"))
		}
	}
	if len(keys) == 0 {
		t.Fatal("README.md's configuration reference has no table rows")
	}
	return keys
}

func TestKeyPathsSeesNestedKeys(t *testing.T) {
	var got []string
	keyPaths(reflect.TypeFor[Config](), "", &got)
	for _, want := range []string{"issuer", "sessions.idle", "connections[].client_secret_file", "orgs[].connections[].issuer", "clients[].redirect_uris"} {
		if !slices.Contains(got, want) {
			t.Errorf("keyPaths lacks %q; got %s", want, cmp.Diff(nil, got))
		}
	}
}
