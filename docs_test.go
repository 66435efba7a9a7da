package sallyport

import (
	"os"
	"strings"
	"testing"
)

// The integration guide shows examples/goapp/main.go verbatim: the file is
// compiled and vetted with the repository, so the guide cannot show code
// that does not build.
func TestAppIntegrationGuideShowsTheExample(t *testing.T) {
	doc, err := os.ReadFile("docs/app-integration.md")
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile("examples/goapp/main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "<!-- goapp -->\n```go\n")
	shown, _, ok2 := strings.Cut(rest, "```\n<!-- /goapp -->")
	if !ok || !ok2 {
		t.Fatal("docs/app-integration.md lacks the <!-- goapp --> code block")
	}
	if shown != string(code) {
		t.Error("docs/app-integration.md shows a different examples/goapp/main.go; paste the file between the goapp markers")
	}
	_, body, _ := strings.Cut(string(code), "\nfunc main() {")
	if n := strings.Count(body, "\n"); n >= 40 {
		t.Errorf("main is %d lines; the guide promises under 40", n+1)
	}
}
