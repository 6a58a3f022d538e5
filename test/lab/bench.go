package lab

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The figures of `make bench`: each benchmark runs once (-benchtime 1x) in
// a namespace lab, measures ours and the alternative side by side, and
// writes one line per figure with Figure.

// Figure prints one result line, "name value unit key=value...", and
// appends it to the file named by UFW_DOCKER_BRIDGE_BENCH_OUT.
func Figure(b testing.TB, name string, value float64, unit string, kv ...string) {
	b.Helper()
	line := strings.TrimSpace(fmt.Sprintf("%s %s %s %s", name, Num(value), unit, strings.Join(kv, " ")))
	fmt.Println("figure: " + line)
	out := os.Getenv("UFW_DOCKER_BRIDGE_BENCH_OUT")
	if out == "" {
		return
	}
	f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, line); err != nil {
		b.Fatal(err)
	}
}

// Num prints a figure with three significant digits and no exponent.
func Num(v float64) string {
	switch {
	case v >= 100 || v == float64(int64(v)):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// MS is d in milliseconds.
func MS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Ratio is "ratio-vs-NAME=Nx": how many times ours the alternative costs.
func Ratio(name string, alternative, ours float64) string {
	return "ratio-vs-" + name + "=" + Num(alternative/ours) + "x"
}

// Verdict is "goal=... met" or "goal=... MISSED".
func Verdict(goal string, met bool) string {
	if met {
		return "goal=" + goal + " met"
	}
	return "goal=" + goal + " MISSED"
}

// Timings runs f n times and returns the sorted durations.
func Timings(n int, f func(i int)) []time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		start := time.Now()
		f(i)
		ds[i] = time.Since(start)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds
}
