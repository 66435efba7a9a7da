package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sallyport/sallyport/internal/store"
)

// SQLite has one writer, and under load write transactions queue for it.
// Each commit appends every page it changed to the WAL, and the pages that
// a sign-in's transactions change are largely the same ones: the last page
// of the audit log and of every time-ordered index. Group commit runs the
// transactions that queued while the writer was busy as one SQLite
// transaction, each in a savepoint of its own, and commits once: those
// shared pages are written once per batch instead of once per transaction,
// and BEGIN and COMMIT are paid once.
//
// Each transaction keeps its own all-or-nothing: a function that fails is
// rolled back to its savepoint and returns its error at once, the others
// in the batch are untouched. A function that succeeds returns only when
// the batch has committed, and returns the commit's error if it failed:
// nothing a caller is told committed can be missing afterwards. Functions
// run one at a time, each on its own caller's goroutine (so a panic or
// t.Fatal stays with its caller), in the order they queued.
//
// One caller's cancellation must not undo the others' work: SQLite answers
// an interrupted write inside a transaction by rolling the whole
// transaction back. So inside a batch no statement is interruptible; a
// caller whose context ends while it waits in the queue leaves the queue,
// one whose turn has come finishes its (short) function.

// maxBatch bounds how many transactions one commit carries, so a steady
// stream of writers cannot postpone the leader's own answer without end.
const maxBatch = 64

// groupCommit queues write transactions for SQLite's writer.
type groupCommit struct {
	db *DB

	commits atomic.Int64 // batches committed (or tried), for tests

	mu      sync.Mutex // guards the fields below
	leading bool       // a leader holds the writer and runs a batch
	queue   []*member  // waiting for a batch
}

// member is one caller's transaction.
type member struct {
	ctx context.Context
	fn  func(store.Queries) error
	// turn receives the batch to run in when this member's turn comes,
	// or nil when it is to lead the next batch itself.
	turn chan *batch
	// done receives the batch's commit result, once, when fn succeeded.
	done chan error
}

// batch is one SQLite transaction carrying several members.
type batch struct {
	ct *cachedTx // the transaction, its statements under the batch's context
	// stepped receives each member's result when its function is over,
	// so the leader can go on to the next one.
	stepped chan error
}

func newGroupCommit(db *DB) *groupCommit { return &groupCommit{db: db} }

// run is Tx on SQLite.
func (g *groupCommit) run(ctx context.Context, fn func(store.Queries) error) error {
	m := &member{ctx: ctx, fn: fn, turn: make(chan *batch, 1), done: make(chan error, 1)}
	g.mu.Lock()
	if !g.leading {
		g.leading = true
		g.mu.Unlock()
		return g.lead(m)
	}
	g.queue = append(g.queue, m)
	g.mu.Unlock()

	var b *batch
	select {
	case b = <-m.turn:
	case <-ctx.Done():
		g.mu.Lock()
		if i := slices.Index(g.queue, m); i >= 0 {
			g.queue = slices.Delete(g.queue, i, i+1)
			g.mu.Unlock()
			return fmt.Errorf("sqlstore: begin: %w", ctx.Err())
		}
		g.mu.Unlock()
		b = <-m.turn // already taken: its turn is coming
	}
	if b == nil {
		return g.lead(m)
	}
	if err := b.runMember(m); err != nil {
		return err
	}
	return <-m.done
}

// handOver ends this leader's term: the first queued member leads next.
func (g *groupCommit) handOver() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.leading = false
		return
	}
	next := g.queue[0]
	g.queue = slices.Delete(g.queue, 0, 1)
	next.turn <- nil
}

// lead runs a batch: the leader's own function first, then whoever queued
// meanwhile, and commits.
func (g *groupCommit) lead(self *member) error {
	defer g.handOver()
	if err := self.ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	// The batch outlives any one caller's request.
	bctx := context.WithoutCancel(self.ctx)
	tx, err := g.db.write.BeginTx(bctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	b := &batch{ct: newCachedTx(tx, g.db.wstmts), stepped: make(chan error, 1)}
	b.ct.ctx = bctx
	// Deferred before the rollback, so it runs after it: only then is the
	// writer's connection free to prepare on.
	defer func() { g.db.wstmts.warm(bctx, b.ct.missing()) }()
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()

	if _, err := b.ct.ExecContext(bctx, "SAVEPOINT batch"); err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	// The leader's function runs first and alone, so it needs no
	// savepoint of its own: when it fails (or panics) the transaction is
	// rolled back whole and the next in the queue leads.
	if err := self.fn(b.queries()); err != nil {
		return err
	}
	var waiting []*member
	for len(waiting) < maxBatch-1 {
		m := g.next()
		if m == nil {
			break
		}
		if err := b.alive(); err != nil {
			// SQLite ended the transaction itself (a full disk, an I/O
			// error): nothing of the batch is kept, and m leads next.
			g.requeue(m)
			for _, w := range waiting {
				w.done <- err
			}
			return err
		}
		m.turn <- b
		if err := <-b.stepped; err == nil {
			waiting = append(waiting, m)
		}
	}
	committed = true
	g.commits.Add(1)
	if err = tx.Commit(); err != nil {
		err = fmt.Errorf("sqlstore: commit: %w", mapErr(err))
	}
	for _, m := range waiting {
		m.done <- err
	}
	return err
}

// next removes the first queued member, or returns nil.
func (g *groupCommit) next() *member {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		return nil
	}
	m := g.queue[0]
	g.queue = slices.Delete(g.queue, 0, 1)
	return m
}

// requeue puts m back at the head of the queue.
func (g *groupCommit) requeue(m *member) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.queue = slices.Insert(g.queue, 0, m)
}

func (b *batch) queries() store.Queries { return queries{r: b.ct, w: b.ct, dialect: SQLite} }

// runMember runs a queued member's function in the batch and reports to
// the leader when it is over, however it ends.
func (b *batch) runMember(m *member) error {
	over := false
	defer func() {
		if !over { // panic or runtime.Goexit: inSavepoint has undone its writes
			b.stepped <- errMemberLeft
		}
	}()
	err := b.inSavepoint(m)
	over = true
	b.stepped <- err
	return err
}

var errMemberLeft = errors.New("sqlstore: transaction function did not return")

// inSavepoint runs m.fn inside a savepoint, undoing its writes when it
// fails or does not return. Members run one after another, never nested,
// so every one uses the same savepoint name and its statements stay
// prepared.
func (b *batch) inSavepoint(m *member) (err error) {
	if err := m.ctx.Err(); err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	if _, err := b.ct.ExecContext(b.ct.ctx, "SAVEPOINT member"); err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	over := false
	defer func() {
		if !over || err != nil {
			b.ct.ExecContext(b.ct.ctx, "ROLLBACK TO member")
		}
		b.ct.ExecContext(b.ct.ctx, "RELEASE member")
	}()
	err = m.fn(b.queries())
	over = true
	return err
}

// alive reports an error when the batch's transaction is no longer open.
// SQLite may end a transaction itself on some errors
// (https://sqlite.org/lang_transaction.html, "Response To Errors Within A
// Transaction"); a member that ran on after one would have run outside any
// transaction, and the next member's savepoint would begin, and its RELEASE
// commit, a transaction of its own. The savepoint "batch", set right after
// BEGIN, tells: it is gone exactly when the transaction is, and inside
// BEGIN … COMMIT releasing it commits nothing.
func (b *batch) alive() error {
	if _, err := b.ct.ExecContext(b.ct.ctx, "RELEASE batch"); err != nil {
		return fmt.Errorf("sqlstore: the batch's transaction ended early: %w", err)
	}
	if _, err := b.ct.ExecContext(b.ct.ctx, "SAVEPOINT batch"); err != nil {
		return fmt.Errorf("sqlstore: batch: %w", err)
	}
	return nil
}
