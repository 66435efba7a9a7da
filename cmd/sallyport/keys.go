package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/sallyport/sallyport/internal/audit"
	"github.com/sallyport/sallyport/internal/config"
	"github.com/sallyport/sallyport/internal/op/keys"
	"github.com/sallyport/sallyport/internal/outcome"
	"github.com/sallyport/sallyport/internal/secret"
)

// keysCmd groups the signing-key verbs. They act on the configured
// database, so every replica sees the result within the key cache's 30 s.
type keysCmd struct {
	List   keysListCmd   `cmd:"" help:"List Sallyport's token signing keys: key id, algorithm, state and dates (never key material)."`
	Rotate keysRotateCmd `cmd:"" help:"Publish a new signing key. It starts signing after the rotation delay (24 h), so apps that cache the JWKS see it first; the old key stays published until every token it signed has expired."`
}

// openKeys opens the store and the key manager for a keys verb.
func (f configFlag) openKeys(e *env) (*keys.Manager, func(), error) {
	settings, log, db, err := f.openCurrentStore(e)
	if err != nil {
		return nil, nil, err
	}
	ring, err := secret.Load(settings.EncryptionKey, settings.DatabaseIsDefaultSQLite(), config.DefaultDataDir, log)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	m := keys.New(keys.Config{Store: db, Keys: ring, Audit: audit.New(audit.Config{}), Logger: log})
	return m, func() { db.Close() }, nil
}

type keysListCmd struct {
	configFlag
}

// Run prints one line per key, newest first as the store lists them.
func (c *keysListCmd) Run(e *env) error {
	m, done, err := c.openKeys(e)
	if err != nil {
		return err
	}
	defer done()
	list, err := m.List(e.ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no signing keys yet: `sallyport serve` creates the first one at start")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tALG\tSTATE\tCREATED\tACTIVE SINCE\tRETIRED\tACTIVATES / REMOVED AFTER")
	for _, k := range list {
		when := k.ActivatesAfter
		if when.IsZero() {
			when = k.RemoveAfter
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.State, day(k.CreatedAt), day(k.ActivatedAt), day(k.RetiredAt), day(when))
	}
	return tw.Flush()
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

type keysRotateCmd struct {
	configFlag
	Alg string `default:"RS256" enum:"RS256,ES256,EdDSA" help:"Algorithm of the new key (${enum})."`
}

// Run publishes the next key and says when it takes over.
func (c *keysRotateCmd) Run(e *env) error {
	m, done, err := c.openKeys(e)
	if err != nil {
		return err
	}
	defer done()
	k, err := m.Rotate(e.ctx, c.Alg, "cli")
	if err != nil {
		var oe *outcome.Error
		if errors.As(err, &oe) && oe.Err != nil {
			return refuse(e, oe.Err.Error()) // an operator needs the precise cause
		}
		return err
	}
	fmt.Fprintf(e.stdout, "published %s key %s; it starts signing after %s\n", k.Alg, k.KID, day(k.ActivatesAfter))
	return nil
}
