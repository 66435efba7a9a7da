// Package telemetry sets up what Sallyport tells its operators: structured
// logs through log/slog and metrics through a Prometheus registry. It holds
// no global state: main builds one logger and one registry and passes them
// to every package that needs them.
package telemetry

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Log formats accepted by NewLogger.
const (
	FormatJSON = "json" // one JSON object a line, for log collectors
	FormatText = "text" // key=value lines, for people reading a terminal
	FormatAuto = "auto" // text on a terminal, JSON anywhere else
)

// NewLogger returns a logger writing to w at level and above. format is
// FormatJSON, FormatText or FormatAuto ("" counts as FormatAuto). Any other
// value gives JSON: config validation rejects unknown formats and names the
// field, so here the machine-readable format is the safe fallback.
func NewLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	text := false
	switch strings.ToLower(format) {
	case FormatText:
		text = true
	case FormatAuto, "":
		text = isTerminal(w)
	}
	if text {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// isTerminal reports whether w is a file descriptor attached to a terminal;
// a pipe, a file or a buffer is not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}

// ParseLevel turns a configured level name into a slog.Level. It accepts
// debug, info, warn (or warning) and error in any case, and slog's offsets
// such as "info+2".
func ParseLevel(s string) (slog.Level, error) {
	name := strings.TrimSpace(s)
	if strings.EqualFold(name, "warning") {
		name = "warn"
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(name)); err != nil {
		return 0, fmt.Errorf("telemetry: unknown log level %q: use debug, info, warn or error", s)
	}
	return level, nil
}

// NewRegistry returns a Prometheus registry with the Go runtime and process
// collectors registered. It is a fresh registry rather than the global
// default one so that tests and several servers in one process never clash
// over metric names.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}
