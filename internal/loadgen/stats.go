package loadgen

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value with at least p percent of the
// values at or below it. It is always one of the measured values, never
// an interpolation between two, so a p99 over few samples reads as the
// worst of them rather than as a value nobody saw. Zero for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// The epsilon keeps a rank that is whole in decimal (95% of 100)
	// from rounding up to the next one through binary floating point.
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}

// Latency is the latency figures of a run, from start to verified ID
// token (see the package documentation).
type Latency struct {
	Min, P50, P95, P99, Max, Mean time.Duration
}

// summarize sorts latencies in place and returns their figures.
func summarize(latencies []time.Duration) Latency {
	if len(latencies) == 0 {
		return Latency{}
	}
	slices.Sort(latencies)
	var total time.Duration
	for _, l := range latencies {
		total += l
	}
	return Latency{
		Min:  latencies[0],
		P50:  Percentile(latencies, 50),
		P95:  Percentile(latencies, 95),
		P99:  Percentile(latencies, 99),
		Max:  latencies[len(latencies)-1],
		Mean: total / time.Duration(len(latencies)),
	}
}
