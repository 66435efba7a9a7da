package secret

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKeyFileCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sallyport-data")
	path := filepath.Join(dir, "encryption.key")

	key, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Error("created = false for a missing file")
	}
	if _, err := ParseKeyRing(key); err != nil {
		t.Errorf("created key does not parse: %v", err)
	}
	if runtime.GOOS != "windows" {
		for p, want := range map[string]fs.FileMode{path: 0o600, dir: 0o700} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("mode of %s = %04o, want %04o", p, got, want)
			}
		}
	}

	again, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if created || again != key {
		t.Errorf("second call = %q, created %v; want the first key, created false", again, created)
	}
}

func TestLoadOrCreateKeyFileReusesExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	want, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	// An operator's file, hand-written: a rotated ring with a trailing newline.
	old, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	want = want + "," + old
	if err := os.WriteFile(path, []byte("  "+want+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if created || got != want {
		t.Errorf("LoadOrCreateKeyFile = %q, created %v; want %q, false", got, created, want)
	}
}

func TestLoadOrCreateKeyFileRacingCreators(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "key")
	const n = 16
	keys := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			keys[i], created[i], errs[i] = LoadOrCreateKeyFile(path)
		})
	}
	start.Done()
	done.Wait()

	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("creator %d: %v", i, errs[i])
		}
		if keys[i] != keys[0] {
			t.Errorf("creator %d got a different key from creator 0", i)
		}
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d callers report creating the file, want exactly 1", creators)
	}
}

func TestLoadOrCreateKeyFileWaitsForPartialWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	key, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Another process has created the file and written half of it.
	if err := os.WriteFile(path, []byte(key[:10]), 0o600); err != nil {
		t.Fatal(err)
	}
	waits := 0
	finish := func() {
		waits++
		if waits == 2 {
			if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, created, err := loadOrCreateKeyFile(path, 5, finish)
	if err != nil {
		t.Fatal(err)
	}
	if created || got != key {
		t.Errorf("got %q, created %v; want the other writer's key, created false", got, created)
	}
	if waits != 2 {
		t.Errorf("waited %d times, want 2", waits)
	}
}

func TestLoadOrCreateKeyFileRefuses(t *testing.T) {
	good, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string
		mode    fs.FileMode
		unix    bool     // the mode check does not apply on Windows
		want    []string // substrings of the error
	}{
		{"group readable", good, 0o640, true, []string{"mode 0640", "chmod 600"}},
		{"world readable", good, 0o604, true, []string{"mode 0604", "chmod 600"}},
		{"group writable", good, 0o620, true, []string{"mode 0620"}},
		{"never completed", good[:10], 0o600, false, []string{"invalid key file", "is not base64"}},
		{"empty", "", 0o600, false, []string{"invalid key file", "empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unix && runtime.GOOS == "windows" {
				t.Skip("no Unix modes on Windows")
			}
			path := filepath.Join(t.TempDir(), "key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			waits := 0
			_, _, err := loadOrCreateKeyFile(path, 3, func() { waits++ })
			if err == nil {
				t.Fatal("succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), good) {
				t.Errorf("error %q reveals the key", err)
			}
			// The file is the operator's: refusing must not replace it.
			b, rerr := os.ReadFile(path)
			if rerr != nil || string(b) != tt.content {
				t.Errorf("file now holds %q (%v), want it untouched", b, rerr)
			}
			if tt.unix && waits != 0 {
				t.Errorf("waited %d times on a mode error, want 0", waits)
			}
		})
	}
}

func TestLoadOrCreateKeyFileNotRegular(t *testing.T) {
	_, _, err := LoadOrCreateKeyFile(t.TempDir())
	if err == nil || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("error = %v, want a 'not a regular file' error", err)
	}
}
