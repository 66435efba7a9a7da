package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sallyport/sallyport/internal/demo"
	"github.com/sallyport/sallyport/internal/telemetry"
)

// demoCmd runs `sallyport demo` (DESIGN.md §11).
type demoCmd struct {
	LogLevel string `name:"log-level" default:"warn" enum:"debug,info,warn,error" help:"Log level of Sallyport, the demo identity provider and the demo app (on stderr): debug, info, warn or error."`
}

// Run starts the demo on 127.0.0.1:8080 (Sallyport), :8081 (the demo app)
// and :8082 (the demo identity provider), prints what to open, and stops
// everything, deleting the demo's data, on SIGINT or SIGTERM.
func (c *demoCmd) Run(e *env) error {
	level, err := telemetry.ParseLevel(c.LogLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := telemetry.NewLogger(e.stderr, level, "auto")
	d, err := demo.Start(e.ctx, demo.Config{Logger: log})
	if err != nil {
		return err
	}
	d.WriteIntro(e.stdout)

	var failed error
	select {
	case <-e.ctx.Done():
	case failed = <-d.Failed():
	}
	fmt.Fprintln(e.stdout, "\nStopping the demo…")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		return fmt.Errorf("stopping the demo: %w", err)
	}
	if failed != nil {
		return fmt.Errorf("the demo stopped serving: %w", failed)
	}
	fmt.Fprintln(e.stdout, "Stopped. The demo's data is deleted.")
	return nil
}
