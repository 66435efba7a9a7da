package main

import "errors"

// demoCmd runs `sallyport demo` (DESIGN.md §11).
type demoCmd struct{}

// Run is wired to internal/demo in the next commit; until then the verb
// says so rather than pretending.
func (demoCmd) Run(e *env) error {
	return errors.New("demo: not available in this build yet")
}
