package secret

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
)

// ErrNoKey is returned by Load when no key is configured and none may be
// generated.
var ErrNoKey = errors.New("secret: encryption_key: required (32 bytes, base64; or encryption_key_file)")

// Load returns the key ring for secrets at rest: the configured keys, or,
// when none are configured and mayGenerate is set (the laptop default:
// SQLite under the default data directory), the key in dir/encryption.key,
// generated on first use. The key is generated only there, next to the
// database, so the data and its key travel together: a generated key that
// is lost makes every stored secret unreadable, so anywhere else a missing
// key is a configuration error.
func Load(configured string, mayGenerate bool, dir string, log *slog.Logger) (*KeyRing, error) {
	if configured != "" {
		keys, err := ParseKeyRing(configured)
		if err != nil {
			return nil, fmt.Errorf("encryption_key: %w", err)
		}
		return keys, nil
	}
	if !mayGenerate {
		return nil, fmt.Errorf("%w unless the database is the default SQLite under ./%s", ErrNoKey, dir)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := filepath.Join(dir, "encryption.key")
	key, created, err := LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("generated an encryption key for secrets at rest; back it up with the database, or set encryption_key", "path", path)
	} else {
		log.Warn("using the generated encryption key; set encryption_key for anything beyond a laptop", "path", path)
	}
	keys, err := ParseKeyRing(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}
