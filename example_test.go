package sallyport_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/sallyport/sallyport"
)

// A Go program mounts Sallyport in its own mux, next to its own routes.
func Example() {
	dir, err := os.MkdirTemp("", "sallyport-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	settings := sallyport.DefaultSettings()
	settings.Database = "sqlite:" + filepath.Join(dir, "sallyport.db")
	// In production the key comes from a secret store; it encrypts client
	// secrets, TOTP seeds and signing keys at rest.
	settings.EncryptionKey = "c2FsbHlwb3J0LWV4YW1wbGUta2V5LTMyLWJ5dGVzISE="

	srv, err := sallyport.New(context.Background(), sallyport.Config{Settings: settings})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /app/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "the app")
	})
	mux.Handle("/", srv.Handler())

	ts := httptest.NewServer(mux)
	defer ts.Close()
	for _, path := range []string{"/app/", "/readyz"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(path, resp.Status)
	}
	// Output:
	// /app/ 200 OK
	// /readyz 200 OK
}
