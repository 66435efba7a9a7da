package web

import (
	"log/slog"
	"net/http"
	"time"
)

// NewHTTPServer returns an http.Server for h with timeouts set. The
// defaults of net/http have none, which lets a slow client hold a
// connection, and a goroutine, forever. Write and read timeouts bound the
// whole exchange; the short header timeout defeats slowloris first. The
// server's own errors (TLS handshakes, hijack failures) go to log at Warn.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
