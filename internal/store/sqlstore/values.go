package sqlstore

import (
	"database/sql"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Every time is stored as BIGINT milliseconds since the Unix epoch (UTC), in
// both dialects: one SQL text compares and orders them, and no driver's time
// parsing is involved. A zero time.Time is NULL.

// msOrNull is the value to bind for an optional time.
func msOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// ms is the value to bind for a required time.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS turns a scanned column back into a time (zero for NULL).
func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// strOrNull binds "" as NULL, for optional references and nullable columns.
func strOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// bytesOrNull binds an empty slice as NULL.
func bytesOrNull(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// jsonList encodes a string list for a TEXT column; nil becomes "[]".
func jsonList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

// parseList decodes a jsonList column; a malformed value is an error, never
// an empty list that would widen a permission.
func parseList(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	return l, nil
}

// now is the store's clock for CreatedAt/UpdatedAt when the record has none.
func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// newID makes a record id: a UUIDv7, so ids sort by creation time and index
// well in both dialects.
func newID() string { return uuid.Must(uuid.NewV7()).String() }
