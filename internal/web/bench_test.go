package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the chain rather than a recorder's buffers.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkChainHealthz is the whole middleware chain around GET /healthz;
// BenchmarkMuxHealthz is the same handler on a bare mux, for comparison.
func BenchmarkChainHealthz(b *testing.B) {
	srv, err := New(Config{Issuer: mustURL(b, "https://sso.example.com"), Ready: alwaysReady})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkHealthz(b, srv.Handler())
}

func BenchmarkMuxHealthz(b *testing.B) {
	srv, err := New(Config{Issuer: mustURL(b, "https://sso.example.com"), Ready: alwaysReady})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkHealthz(b, srv.mux)
}

func benchmarkHealthz(b *testing.B, h http.Handler) {
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		req.Pattern = ""
		h.ServeHTTP(w, req)
	}
}
