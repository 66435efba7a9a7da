package ratelimit

import (
	"context"
	"sync"
	"time"
)

// DefaultMaxKeys is how many keys a [Memory] holds when MemoryConfig.MaxKeys
// is zero.
const DefaultMaxKeys = 100_000

// evictSample is how many keys Memory looks at to make room when every
// key is in use.
const evictSample = 8

// MemoryConfig configures [NewMemory].
type MemoryConfig struct {
	// Rate is how many requests a key may make per minute, sustained;
	// fractions allow slower limits (10 an hour is 10.0/60). It must be
	// positive.
	Rate float64
	// Burst is how many requests a fresh key may make at once. Zero means 1.
	Burst int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxKeys bounds memory: at most this many keys are tracked. Zero means
	// DefaultMaxKeys.
	MaxKeys int
}

// Memory is a [Limiter] for one replica, kept in memory. A key whose limit
// has fully refilled is idle: it holds nothing a fresh key would not, so
// forgetting it changes no decision. When MaxKeys keys are tracked and a new
// one arrives, Memory drops idle keys (all of them, at most once a minute;
// otherwise those it samples) and, only when every key is busy, the sampled
// key closest to idle. It runs no goroutine.
type Memory struct {
	now      func() time.Time
	epoch    time.Time     // times are kept as offsets from here
	interval time.Duration // between requests at the sustained rate
	window   time.Duration // Burst intervals: how far TAT may run ahead
	maxKeys  int

	mu        sync.Mutex               // guards the fields below
	tat       map[string]time.Duration // theoretical arrival time, as an offset from epoch
	lastSweep time.Duration
}

// NewMemory returns an in-memory limiter. It panics if Rate is not
// positive: that is a programming error, not a runtime condition.
func NewMemory(cfg MemoryConfig) *Memory {
	if !(cfg.Rate > 0) {
		panic("ratelimit: MemoryConfig.Rate must be positive")
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	interval := max(time.Duration(float64(time.Minute)/cfg.Rate), 1)
	m := &Memory{
		now:      cfg.Now,
		epoch:    cfg.Now(),
		interval: interval,
		window:   interval * time.Duration(cfg.Burst),
		maxKeys:  cfg.MaxKeys,
		tat:      make(map[string]time.Duration),
	}
	m.lastSweep = -m.sweepEvery() // the first sweep may run at once
	return m
}

// Allow implements [Limiter]; it never returns an error.
func (m *Memory) Allow(_ context.Context, key string) (Decision, error) {
	now := m.now().Sub(m.epoch)

	m.mu.Lock()
	defer m.mu.Unlock()
	tat, ok := m.tat[key]
	if !ok && len(m.tat) >= m.maxKeys {
		m.makeRoom(now)
	}
	tat = max(tat, now) // an absent key is a fresh one: TAT = now
	next := tat + m.interval
	if allowAt := next - m.window; now < allowAt {
		return Decision{RetryAfter: allowAt - now}, nil
	}
	m.tat[key] = next
	return Decision{Allowed: true, Remaining: int((now - (next - m.window)) / m.interval)}, nil
}

// sweepEvery bounds how often a full sweep, which holds the lock for a pass
// over every key, may run: never more than once a minute, and no sooner
// than a busy key can turn idle.
func (m *Memory) sweepEvery() time.Duration { return max(min(m.window, time.Minute), time.Second) }

// makeRoom frees at least one slot; m.mu is held.
func (m *Memory) makeRoom(now time.Duration) {
	if now-m.lastSweep >= m.sweepEvery() {
		m.lastSweep = now
		for k, tat := range m.tat {
			if tat <= now {
				delete(m.tat, k)
			}
		}
		if len(m.tat) < m.maxKeys {
			return
		}
	}
	// Map iteration starts at a random place, so this is a sample.
	var (
		oldest    string
		oldestTAT time.Duration
		busy      int // sampled keys still in use
		freed     bool
	)
	n := 0
	for k, tat := range m.tat {
		if tat <= now {
			delete(m.tat, k)
			freed = true
		} else if busy++; busy == 1 || tat < oldestTAT {
			oldest, oldestTAT = k, tat
		}
		if n++; n == evictSample {
			break
		}
	}
	if !freed {
		delete(m.tat, oldest)
	}
}

// keys reports how many keys are tracked (for tests).
func (m *Memory) keys() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tat)
}
