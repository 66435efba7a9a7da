package loadgen

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond // 1ms … 100ms
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		{"one value is every percentile", []time.Duration{7}, 1, 7},
		{"one value, p100", []time.Duration{7}, 100, 7},
		{"p50 of two is the lower", []time.Duration{1, 2}, 50, 1},
		{"p51 of two is the upper", []time.Duration{1, 2}, 51, 2},
		{"p50 of four", []time.Duration{1, 2, 3, 4}, 50, 2},
		{"p75 of four", []time.Duration{1, 2, 3, 4}, 75, 3},
		{"p50 of 100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 100 is the 95th, not the 96th", hundred, 95, 95 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"p99.9 of 100 is the largest", hundred, 99.9, 100 * time.Millisecond},
		{"p100 is the largest", hundred, 100, 100 * time.Millisecond},
		{"p0 is clamped to the smallest", hundred, 0, time.Millisecond},
		{"p99 of 10: the worst of few", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99, 10},
		{"p90 of 10", []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

// Whole-number ranks must not round up through floating point: 95% of
// every n that is a multiple of 20 is a whole rank.
func TestPercentileWholeRanks(t *testing.T) {
	all := make([]time.Duration, 100000)
	for i := range all {
		all[i] = time.Duration(i + 1)
	}
	for n := 20; n <= len(all); n += 20 {
		sorted := all[:n]
		for _, p := range []float64{50, 95, 99} {
			want := time.Duration(int(p) * n / 100)
			if p == 99 && n%100 != 0 {
				continue // not a whole rank
			}
			if got := Percentile(sorted, p); got != want {
				t.Fatalf("n=%d: Percentile(p%v) = %v, want %v", n, p, got, want)
			}
		}
	}
}

func TestSummarize(t *testing.T) {
	got := summarize([]time.Duration{40, 10, 30, 20})
	want := Latency{Min: 10, P50: 20, P95: 40, P99: 40, Max: 40, Mean: 25}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarize (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Latency{}, summarize(nil)); diff != "" {
		t.Errorf("summarize(nil) (-want +got):\n%s", diff)
	}
}

func TestMerge(t *testing.T) {
	var a, b tally
	a.add("u1", 3, nil)
	a.add("", 0, fail("GET sallyport /callback/bench answered 502", "first"))
	b.add("u1", 1, nil)
	b.add("u2", 2, nil)
	b.add("", 0, fail("GET sallyport /callback/bench answered 502", "second"))
	b.add("", 0, fail("POST token answered 400 invalid_grant", "used"))
	got := merge(2, 2*time.Second, []tally{a, b})
	want := Result{
		Browsers: 2, SignIns: 3, Elapsed: 2 * time.Second, Subjects: 2,
		Latency: Latency{Min: 1, P50: 2, P95: 3, P99: 3, Max: 3, Mean: 2},
		Errors:  map[string]int{"GET sallyport /callback/bench answered 502": 2, "POST token answered 400 invalid_grant": 1},
		Samples: map[string]string{"GET sallyport /callback/bench answered 502": "first", "POST token answered 400 invalid_grant": "used"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merge (-want +got):\n%s", diff)
	}
	if got.Failed() != 3 || got.PerSecond() != 1.5 {
		t.Errorf("Failed = %d, PerSecond = %v; want 3 and 1.5", got.Failed(), got.PerSecond())
	}
}
