package demo

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// startDemo runs the whole demo on free loopback ports for one test.
func startDemo(t *testing.T) *Demo {
	t.Helper()
	d, err := Start(context.Background(), Config{SallyportAddr: "127.0.0.1:0", AppAddr: "127.0.0.1:0", IdPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return d
}

// Shutdown stops all three servers and removes the temporary data.
func TestDemoShutdown(t *testing.T) {
	d, err := Start(context.Background(), Config{SallyportAddr: "127.0.0.1:0", AppAddr: "127.0.0.1:0", IdPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.DataDir(), "sallyport.db")); err != nil {
		t.Fatalf("no database: %v", err)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.DataDir()); !os.IsNotExist(err) {
		t.Errorf("the data directory %s is still there: %v", d.DataDir(), err)
	}
	for _, u := range []string{d.Issuer(), d.AppURL(), d.IdPURL()} {
		host := strings.TrimPrefix(origin(u), "http://")
		if c, err := net.Dial("tcp", host); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections", host)
		}
	}
}

// A port in use stops the demo before anything starts, naming the part
// and the address.
func TestDemoPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Start(context.Background(), Config{SallyportAddr: "127.0.0.1:0", AppAddr: ln.Addr().String(), IdPAddr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "the demo app cannot listen on "+ln.Addr().String()) {
		t.Errorf("Start with the app's port taken: %v", err)
	}
}

// The printed introduction of `sallyport demo` is testdata/intro.golden:
// the app's URL first, the parts, the people, the loopback warning, what
// is not there yet, how to stop.
func TestDemoIntro(t *testing.T) {
	var buf bytes.Buffer
	writeIntro(&buf, intro{AppURL: "http://" + DefaultAppAddr, Issuer: "http://" + DefaultSallyportAddr,
		IdPURL: "http://" + DefaultIdPAddr + "/generic", ClientSecret: "SECRET", DataDir: "/tmp/sallyport-demo-NNN", TempData: true})
	got := buf.String()
	golden := filepath.Join("testdata", "intro.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("intro (-golden +got):\n%s", diff)
	}

	// A running demo prints its own addresses, secret and directory.
	d := startDemo(t)
	buf.Reset()
	d.WriteIntro(&buf)
	for _, want := range []string{"\n    " + d.AppURL() + "/\n", d.Issuer() + "/ ", d.IdPURL() + " ", d.ClientSecret(), d.DataDir()} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the intro lacks %q:\n%s", want, buf.String())
		}
	}
}
