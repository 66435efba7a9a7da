package config

import (
	"errors"
	"strings"
)

// errDuration is what a malformed duration string reports.
var errDuration = errors.New("config: must be a duration such as 12h or 10m")

// Problem is one thing wrong with a configuration, tied to the key path of
// the setting at fault ("connections[1].client_id") so the operator can go
// straight to it.
type Problem struct {
	// Field is the key path, or "" for a problem with the file as a whole.
	Field string
	// Message says what is wrong and, where it helps, what to write instead.
	Message string
}

// String formats the problem as "field: message".
func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Problems is every problem found in a configuration. It is an error so
// Load can report all of them at once: fixing one at a time, restarting
// between each, is the experience it exists to avoid.
type Problems []Problem

// Error lists the problems one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// add appends a problem; a helper that keeps validation code one line per rule.
func (ps *Problems) add(field, message string) {
	*ps = append(*ps, Problem{Field: field, Message: message})
}
