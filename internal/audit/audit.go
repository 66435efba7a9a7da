// Package audit records Sallyport's decisions and admin changes as
// append-only events.
//
// # Write the event in the change's transaction
//
// [Recorder.Record] takes the [store.Queries] to write through. Pass the
// Queries of the transaction that makes the change the event describes
// (the q inside store.Store.Tx), so the event commits with the change or
// rolls back with it: there is never an event for a change that did not
// happen, nor a change without its event. Pass the Store itself only for a
// decision that changes nothing (a refused sign-in), and record a refusal
// after its transaction has rolled back, not inside it, or the event rolls
// back too. Inside Tx never use the outer Store: SQLite has one writer, and
// the call would wait on itself.
//
// # Append-only
//
// There is deliberately no function here, or in the store, to update or
// delete an event; the schema's triggers refuse UPDATE and DELETE on the
// table too (and TRUNCATE on PostgreSQL). Retention, if ever wanted, is a job for the operator's
// database tooling, not for application code.
//
// # What an event may hold
//
// Events are read by administrators and leave the system in exports, so
// they must never hold a secret. Record refuses detail keys that name one
// (token, secret, password, verifier, state, nonce, cookie, authorization),
// at any depth, so a mistake fails in tests instead of leaking in
// production. Values cannot be checked: put ids, counts and outcome codes
// in Detail, never credentials. Outsiders control the user agent and parts
// of some details (an upstream's error description), so both are bounded:
// the user agent to 512 bytes, the detail to 8 KiB of JSON, in which case
// it carries "_truncated": true.
package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/store"
)

// Limits on what outsiders can make an event carry.
const (
	// MaxUserAgent is the most bytes of a user agent an event keeps.
	MaxUserAgent = 512
	// MaxDetail is the most bytes of detail JSON an event keeps.
	MaxDetail = 8 << 10
)

// truncatedKey marks a detail that was cut to MaxDetail. Keys starting with
// "_" are reserved for such marks.
const truncatedKey = "_truncated"

// Errors Record returns for an event that must not be written. Both are
// programming errors: tests should catch them, callers need not branch.
var (
	// ErrInvalidEvent: a field is missing or malformed.
	ErrInvalidEvent = errors.New("audit: invalid event")
	// ErrSecretDetail: a detail key names something secret.
	ErrSecretDetail = errors.New("audit: detail key names a secret")
)

// typePattern is "noun.verb" style: lower-case words joined by dots, so
// event types group and filter predictably ("login.callback",
// "connection.activate", "admin.client.rotate_secret").
var typePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

const maxType = 64

// secretWords are the fragments of a detail key that suggest its value is a
// credential. Matching is by substring, case-insensitive: a false positive
// ("tokens_revoked") costs a rename, a false negative leaks a secret.
var secretWords = []string{"token", "secret", "password", "verifier", "state", "nonce", "cookie", "authorization"}

// Event is what a caller knows about one decision or change.
type Event struct {
	Type         string       // dotted lower-case, e.g. "login.callback"
	Outcome      outcome.Code // must be part of the vocabulary
	ActorID      string       // who acted: a user id, "cli", "system", "config"
	UserID       string       // whom it concerns
	OrgID        string
	ConnectionID string
	IP           string // the client address, from ClientIP or RequestInfo; "" if unknown
	UserAgent    string
	Detail       map[string]any // marshalled to a JSON object; keys must not name secrets
}

// Config configures a Recorder.
type Config struct {
	// Now is the clock events are stamped with; nil means time.Now.
	Now func() time.Time
	// TrustedProxies are the reverse proxies whose X-Forwarded-For
	// ClientIP believes. Empty means none: the peer address is the client.
	TrustedProxies []netip.Prefix
}

// Recorder validates and writes audit events. It is safe for concurrent use.
type Recorder struct {
	now     func() time.Time
	trusted []netip.Prefix
}

// New returns a Recorder.
func New(cfg Config) *Recorder {
	r := &Recorder{now: cfg.Now, trusted: make([]netip.Prefix, 0, len(cfg.TrustedProxies))}
	if r.now == nil {
		r.now = time.Now
	}
	for _, p := range cfg.TrustedProxies {
		r.trusted = append(r.trusted, p.Masked())
	}
	return r
}

// Record validates e, stamps it with the current time and appends it
// through q. Pass the transaction's Queries so the event commits or rolls
// back with the change it describes (see the package documentation). An
// invalid event is not written and fails with [ErrInvalidEvent] or
// [ErrSecretDetail]; the caller's transaction should then roll back.
func (r *Recorder) Record(ctx context.Context, q store.Queries, e Event) error {
	if len(e.Type) > maxType || !typePattern.MatchString(e.Type) {
		return fmt.Errorf("%w: type %q is not dotted lower-case like \"login.callback\"", ErrInvalidEvent, e.Type)
	}
	if !e.Outcome.Known() {
		return fmt.Errorf("%w: %s: outcome %q is not an outcome code", ErrInvalidEvent, e.Type, e.Outcome)
	}
	if e.IP != "" {
		if _, err := netip.ParseAddr(e.IP); err != nil {
			return fmt.Errorf("%w: %s: ip %q is not an address (use ClientIP or RequestInfo)", ErrInvalidEvent, e.Type, e.IP)
		}
	}
	detail, err := encodeDetail(e.Detail)
	if err != nil {
		return fmt.Errorf("%w (event %s)", err, e.Type)
	}
	ev := store.AuditEvent{
		At:           r.now().UTC().Truncate(time.Millisecond),
		Type:         e.Type,
		Outcome:      string(e.Outcome),
		ActorID:      e.ActorID,
		UserID:       e.UserID,
		OrgID:        e.OrgID,
		ConnectionID: e.ConnectionID,
		IP:           e.IP,
		UserAgent:    cleanUserAgent(e.UserAgent),
		Detail:       detail,
	}
	if err := q.AppendAuditEvent(ctx, &ev); err != nil {
		return fmt.Errorf("audit: append %s: %w", e.Type, err)
	}
	return nil
}

// cleanUserAgent makes an outsider's header safe to store: valid UTF-8 (a
// PostgreSQL TEXT column refuses anything else, which would fail the
// caller's transaction), no control characters, at most MaxUserAgent bytes.
func cleanUserAgent(ua string) string {
	ua = strings.ToValidUTF8(ua, "\uFFFD")
	ua = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return -1
		}
		return c
	}, ua)
	return cutAtRune(ua, MaxUserAgent)
}

// cutAtRune returns the longest prefix of s of at most n bytes that does
// not split a character.
func cutAtRune(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// encodeDetail turns a detail into the JSON object stored with the event.
func encodeDetail(d map[string]any) ([]byte, error) {
	if len(d) == 0 {
		return []byte("{}"), nil
	}
	for k := range d {
		if strings.HasPrefix(k, "_") {
			return nil, fmt.Errorf("%w: detail key %q: keys starting with _ are reserved", ErrInvalidEvent, k)
		}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("%w: detail: %v", ErrInvalidEvent, err)
	}
	// Check the JSON rather than the Go values, so keys of nested maps and
	// of structs (by their JSON names) are checked too.
	var tree map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers exactly as marshalled if the detail is rebuilt
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("%w: detail: %v", ErrInvalidEvent, err)
	}
	if path, ok := findSecretKey(tree, ""); ok {
		return nil, fmt.Errorf("%w: %q; record an id or a fact about it, never the value, under another name", ErrSecretDetail, path)
	}
	if len(raw) <= MaxDetail {
		return raw, nil
	}
	return truncateDetail(tree), nil
}

// findSecretKey returns the dotted path of the first key, at any depth,
// that names a secret.
func findSecretKey(v any, path string) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			lk := strings.ToLower(k)
			for _, w := range secretWords {
				if strings.Contains(lk, w) {
					return p, true
				}
			}
			if found, ok := findSecretKey(v[k], p); ok {
				return found, true
			}
		}
	case []any:
		for i, e := range v {
			if found, ok := findSecretKey(e, fmt.Sprintf("%s[%d]", path, i)); ok {
				return found, true
			}
		}
	}
	return "", false
}

// truncateDetail rebuilds an oversized detail within MaxDetail, marked
// "_truncated": true. Entries that fit whole are kept first, in key order,
// so the short facts (ids, codes, counts) survive; then long strings are
// cut to the room left; whatever still does not fit is dropped.
func truncateDetail(tree map[string]any) []byte {
	var b bytes.Buffer
	b.WriteString(`{"` + truncatedKey + `":true`)
	// room is what an entry may take: the comma, key, colon and value,
	// leaving space for the closing brace.
	room := func() int { return MaxDetail - b.Len() - 1 }
	type entry struct {
		key, val []byte
		s        string
		isString bool
	}
	var rest []entry
	for _, k := range slices.Sorted(maps.Keys(tree)) {
		kj, _ := json.Marshal(k)
		vj, _ := json.Marshal(tree[k])
		if 1+len(kj)+1+len(vj) <= room() {
			b.WriteByte(',')
			b.Write(kj)
			b.WriteByte(':')
			b.Write(vj)
			continue
		}
		s, isString := tree[k].(string)
		rest = append(rest, entry{key: kj, val: vj, s: s, isString: isString})
	}
	for _, e := range rest {
		if !e.isString {
			continue
		}
		vj := cutJSONString(e.s, room()-1-len(e.key)-1)
		if vj == nil {
			continue
		}
		b.WriteByte(',')
		b.Write(e.key)
		b.WriteByte(':')
		b.Write(vj)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// cutJSONString returns the JSON of the longest prefix of s, ending in "…",
// whose encoding fits in n bytes, or nil when nothing useful fits. Escaping
// makes the encoded length grow unevenly with the prefix, so it searches.
func cutJSONString(s string, n int) []byte {
	const minUseful = 16
	if n < minUseful {
		return nil
	}
	encode := func(cut int) []byte {
		j, _ := json.Marshal(cutAtRune(s, cut) + "…")
		return j
	}
	// Invariant: a prefix of lo bytes fits; one of hi+1 bytes does not.
	lo, hi := 0, min(len(s), n)
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if len(encode(mid)) <= n {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return encode(lo)
}

// RecordAlone writes e in a transaction of its own, on a context the
// caller's cancellation cannot reach: a refusal's event must be written
// although nothing else is, and even after the browser that caused it has
// gone.
func (r *Recorder) RecordAlone(ctx context.Context, st store.Store, e Event) error {
	ctx = context.WithoutCancel(ctx)
	return st.Tx(ctx, func(q store.Queries) error { return r.Record(ctx, q, e) })
}

// Clip shortens s, a detail value taken from a request or an error, to at
// most n bytes of valid UTF-8 and marks the cut with an ellipsis.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
