package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SQLite moves committed pages from the WAL back into the database file
// in checkpoints, which fsync. Left to itself, the connection whose commit
// crosses wal_autocheckpoint pages runs the checkpoint inside that commit:
// on our single writer, every other write then waits for the disk, and
// under load the CPU sat idle while sign-ins queued. Instead a connection
// of its own checkpoints in the background (PASSIVE: it never blocks the
// writer or readers), and the writer's own automatic checkpoint stays as a
// backstop at a much larger WAL, for when the background one cannot keep
// up.
const (
	// checkpointEvery is how often the background checkpoint runs.
	checkpointEvery = 500 * time.Millisecond
	// writerCheckpointPages is the writer's backstop: 40 MiB of WAL at
	// 4 KiB pages (SQLite's default is 1000 pages).
	writerCheckpointPages = 10_000
)

// checkpointer runs PASSIVE checkpoints until stopped.
type checkpointer struct {
	db   *sql.DB
	stop context.CancelFunc
	done chan struct{}
}

// startCheckpointer opens its own connection to dsn (with the pool's
// common parameters) and checkpoints every checkpointEvery.
func (db *DB) startCheckpointer(dsn string) error {
	c, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("sqlstore: open the checkpointer: %w", err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	cp := &checkpointer{db: c, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(cp.done)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// SQLITE_BUSY and friends only mean "next time"; a
				// real fault shows up on the writer as well.
				if _, err := c.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && ctx.Err() == nil {
					db.log.Debug("background WAL checkpoint", "err", err)
				}
			}
		}
	}()
	db.ckpt = cp
	return nil
}

// close stops the background checkpoints and closes their connection.
func (cp *checkpointer) close() error {
	cp.stop()
	<-cp.done
	return cp.db.Close()
}
