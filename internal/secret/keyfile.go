package secret

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Reading a key file another process is still writing: how often and how
// long to wait for it to be complete before giving up (about a second).
const (
	keyFileAttempts = 40
	keyFileDelay    = 25 * time.Millisecond
	maxKeyFile      = 64 << 10 // a ring of a thousand keys; anything bigger is not a key file
)

// errInvalidKeyFile marks a key file whose content is not a key ring: a
// partly written file looks like this, so it is read again before failing.
var errInvalidKeyFile = errors.New("secret: invalid key file")

// LoadOrCreateKeyFile returns the key ring string kept in the file at path,
// creating the file with a fresh key when it does not exist. `serve` uses it
// for the embedded default, so a first start needs no key configured and
// later starts keep reading what they wrote.
//
// An existing file must not be accessible to group or others (its mode is
// checked, except on Windows); its content is trimmed and must parse with
// [ParseKeyRing]. A new file is created with O_EXCL and mode 0600, in a
// directory created with mode 0700 if missing. Processes racing to create
// the file all end up with the same key: the losers read the winner's file,
// waiting briefly while it is being written.
func LoadOrCreateKeyFile(path string) (key string, created bool, err error) {
	return loadOrCreateKeyFile(path, keyFileAttempts, func() { time.Sleep(keyFileDelay) })
}

// loadOrCreateKeyFile is LoadOrCreateKeyFile with the retry budget and the
// wait between reads of an incomplete file injected, for tests.
func loadOrCreateKeyFile(path string, attempts int, wait func()) (string, bool, error) {
	err := errors.New("secret: gave up creating key file " + path)
	for range attempts {
		var key string
		key, err = readKeyFile(path)
		switch {
		case err == nil:
			return key, false, nil
		case errors.Is(err, fs.ErrNotExist):
			key, err = createKeyFile(path)
			if err == nil {
				return key, true, nil
			}
			if !errors.Is(err, fs.ErrExist) {
				return "", false, err
			}
			// Another process created it first: read theirs.
		case errors.Is(err, errInvalidKeyFile):
			wait()
		default:
			return "", false, err
		}
	}
	return "", false, err
}

func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("secret: open key file: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the mode checked is the mode of
	// the file read.
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("secret: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("secret: key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("secret: key file %s has mode %04o, which lets group or others access the encryption key; run `chmod 600 %s`", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", fmt.Errorf("secret: read key file: %w", err)
	}
	if len(b) > maxKeyFile {
		return "", fmt.Errorf("secret: key file %s is over %d bytes: not a key file", path, maxKeyFile)
	}
	key := strings.TrimSpace(string(b))
	if _, err := ParseKeyRing(key); err != nil {
		return "", fmt.Errorf("%w %s: %w", errInvalidKeyFile, path, err)
	}
	return key, nil
}

// createKeyFile writes a fresh key to path, failing with fs.ErrExist when
// the file is already there so a racing creator never overwrites a key that
// may already protect data.
func createKeyFile(path string) (string, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("secret: create key file directory: %w", err)
	}
	key, err := GenerateKey(nil)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", err
		}
		return "", fmt.Errorf("secret: create key file: %w", err)
	}
	_, err = f.WriteString(key + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// Leave no empty or partial key behind for the next start to trip on.
		os.Remove(path)
		return "", fmt.Errorf("secret: write key file: %w", err)
	}
	// Losing the key after a crash loses every secret sealed with it, so
	// make the new directory entry durable too. Best effort: not every
	// platform can sync a directory.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return key, nil
}
