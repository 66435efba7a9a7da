package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Phase is one stretch of load: how many browsers at once, and when to
// stop. At least one of Duration and SignIns must be set; with both, the
// first reached ends the phase.
type Phase struct {
	// Browsers is how many browsers sign in at once, each starting its
	// next sign-in as soon as the last one ends.
	Browsers int
	// Duration stops browsers from starting sign-ins after it has passed;
	// those under way finish and count.
	Duration time.Duration
	// SignIns is how many sign-ins to start in all.
	SignIns int
}

// Result is what a phase measured.
type Result struct {
	// Browsers is the phase's concurrency.
	Browsers int
	// SignIns is how many sign-ins ended with a verified ID token.
	SignIns int
	// Elapsed is from the first sign-in's start to the last one's end.
	Elapsed time.Duration
	// Latency is over the verified sign-ins only.
	Latency Latency
	// Subjects is how many distinct ID-token subjects (Sallyport users)
	// signed in.
	Subjects int
	// Errors counts the failed sign-ins by kind; Samples holds one detail
	// for each kind.
	Errors  map[string]int
	Samples map[string]string
}

// PerSecond is the rate of verified sign-ins.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.SignIns) / r.Elapsed.Seconds()
}

// Failed is how many sign-ins failed, of every kind.
func (r Result) Failed() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Run drives sign-ins as p says. Cancelling ctx stops it at once; the
// sign-ins it interrupts count neither as verified nor as failed. The
// error is for a phase that cannot run at all; failed sign-ins are in the
// Result.
func (l *Loader) Run(ctx context.Context, p Phase) (Result, error) {
	if p.Browsers < 1 || (p.Duration <= 0 && p.SignIns <= 0) {
		return Result{}, errors.New("loadgen: a phase needs at least one browser and a duration or a number of sign-ins")
	}
	var (
		started  atomic.Int64
		wg       sync.WaitGroup
		tallies  = make([]tally, p.Browsers)
		begin    = l.now()
		deadline = begin.Add(p.Duration)
	)
	more := func() bool {
		if ctx.Err() != nil || (p.Duration > 0 && !l.now().Before(deadline)) {
			return false
		}
		return p.SignIns <= 0 || started.Add(1) <= int64(p.SignIns)
	}
	for i := range p.Browsers {
		wg.Go(func() {
			b := l.newBrowser()
			defer b.close()
			t := &tallies[i]
			for more() {
				hint := ""
				if l.cfg.Users > 0 {
					hint = UserHint(int(l.next.Add(1)-1) % l.cfg.Users)
				}
				t0 := l.now()
				sub, err := b.signIn(ctx, hint)
				took := l.now().Sub(t0)
				if ctx.Err() != nil {
					return // stopped from outside: this one does not count
				}
				t.add(sub, took, err)
			}
		})
	}
	wg.Wait()
	return merge(p.Browsers, l.now().Sub(begin), tallies), nil
}

// tally is one browser's share of a result; each browser writes only its
// own, so the hot path takes no lock.
type tally struct {
	latencies []time.Duration
	subjects  map[string]struct{}
	errors    map[string]int
	samples   map[string]string
}

func (t *tally) add(subject string, took time.Duration, err error) {
	if err == nil {
		t.latencies = append(t.latencies, took)
		if t.subjects == nil {
			t.subjects = make(map[string]struct{})
		}
		t.subjects[subject] = struct{}{}
		return
	}
	kind, detail := "other", err.Error()
	var se *signInError
	if errors.As(err, &se) {
		kind, detail = se.Kind, se.Detail
	}
	if t.errors == nil {
		t.errors, t.samples = make(map[string]int), make(map[string]string)
	}
	t.errors[kind]++
	if _, ok := t.samples[kind]; !ok {
		t.samples[kind] = detail
	}
}

func merge(browsers int, elapsed time.Duration, tallies []tally) Result {
	r := Result{Browsers: browsers, Elapsed: elapsed, Errors: map[string]int{}, Samples: map[string]string{}}
	var all []time.Duration
	subjects := make(map[string]struct{})
	for _, t := range tallies {
		all = append(all, t.latencies...)
		maps.Copy(subjects, t.subjects)
		for k, n := range t.errors {
			r.Errors[k] += n
			if _, ok := r.Samples[k]; !ok {
				r.Samples[k] = t.samples[k]
			}
		}
	}
	r.SignIns = len(all)
	r.Subjects = len(subjects)
	r.Latency = summarize(all)
	return r
}

// WriteReport prints r for a person: the rate, the latency percentiles
// and every kind of error with one example.
func (r Result) WriteReport(w io.Writer) error {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
	lat := r.Latency
	_, err := fmt.Fprintf(w,
		"browsers   %d\n"+
			"elapsed    %.1fs\n"+
			"sign-ins   %d verified, %d failed, %d distinct users\n"+
			"rate       %.1f sign-ins/s\n"+
			"latency    min %s  p50 %s  p95 %s  p99 %s  max %s  mean %s\n",
		r.Browsers, r.Elapsed.Seconds(), r.SignIns, r.Failed(), r.Subjects, r.PerSecond(),
		ms(lat.Min), ms(lat.P50), ms(lat.P95), ms(lat.P99), ms(lat.Max), ms(lat.Mean))
	if err != nil {
		return err
	}
	return r.WriteErrors(w)
}

// WriteErrors prints every kind of error, the most frequent first, with
// one example each.
func (r Result) WriteErrors(w io.Writer) error {
	kinds := slices.Sorted(maps.Keys(r.Errors))
	slices.SortStableFunc(kinds, func(a, b string) int { return r.Errors[b] - r.Errors[a] })
	for _, k := range kinds {
		if _, err := fmt.Fprintf(w, "error      %d× %s (e.g. %s)\n", r.Errors[k], k, r.Samples[k]); err != nil {
			return err
		}
	}
	return nil
}
