package telemetry

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestNewLoggerFormat(t *testing.T) {
	tests := []struct {
		format string
		json   bool
	}{
		{FormatJSON, true},
		{"JSON", true},
		{FormatText, false},
		{FormatAuto, true}, // a buffer is not a terminal
		{"", true},
		{"yaml", true}, // unknown: machine-readable fallback
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			NewLogger(&buf, slog.LevelInfo, tt.format).Info("hello", "k", "v")
			line := strings.TrimSpace(buf.String())
			var m map[string]any
			isJSON := json.Unmarshal([]byte(line), &m) == nil
			if isJSON != tt.json {
				t.Fatalf("format %q wrote %q; JSON = %v, want %v", tt.format, line, isJSON, tt.json)
			}
			if !strings.Contains(line, "hello") {
				t.Errorf("line %q lacks the message", line)
			}
		})
	}
}

func TestNewLoggerAutoOnFileIsJSON(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	NewLogger(f, slog.LevelInfo, FormatAuto).Info("hello")
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(bytes.TrimSpace(b)) {
		t.Errorf("auto on a regular file wrote %q, want JSON", b)
	}
}

func TestNewLoggerLevel(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelWarn, FormatJSON)
	log.Info("quiet")
	log.Warn("loud")
	if got := buf.String(); strings.Contains(got, "quiet") || !strings.Contains(got, "loud") {
		t.Errorf("at warn level the log is %q", got)
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"INFO", slog.LevelInfo},
		{" info ", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"Warning", slog.LevelWarn},
		{"error", slog.LevelError},
		{"info+2", slog.LevelInfo + 2},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "verbose", "3"} {
		if _, err := ParseLevel(bad); err == nil {
			t.Errorf("ParseLevel(%q) succeeded, want an error", bad)
		} else if !strings.HasPrefix(err.Error(), "telemetry: ") {
			t.Errorf("error %q is not prefixed with the package", err)
		}
	}
}

func TestNewRegistry(t *testing.T) {
	mfs, err := NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	want := []string{"go_goroutines", "go_memstats_alloc_bytes"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_start_time_seconds", "process_open_fds")
	}
	for _, n := range want {
		if !names[n] {
			t.Errorf("registry lacks %s", n)
		}
	}
}
