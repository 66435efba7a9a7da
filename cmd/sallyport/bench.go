package main

import "errors"

// benchCmd groups the load-test verbs: they drive a running Sallyport the
// way browsers and apps do and report how fast it answers.
type benchCmd struct {
	Login benchLoginCmd `cmd:"" help:"Drive full federated sign-ins against a running Sallyport and print sign-ins per second and latency."`
}

type benchLoginCmd struct{}

// Run is not built yet; the load generator lands in internal/loadgen.
func (c *benchLoginCmd) Run(e *env) error {
	return errors.New("bench login: not built yet")
}
