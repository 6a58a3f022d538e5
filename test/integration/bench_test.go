package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procStat returns the CPU time a process used itself and in its reaped
// children, in clock ticks (fields 14-17 of /proc/PID/stat).
func procStat(b *testing.B, pid int) (self, children int64) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(data)[strings.LastIndexByte(string(data), ')')+2:])
	n := func(i int) int64 { v, _ := strconv.ParseInt(f[i-3], 10, 64); return v }
	return n(14) + n(15), n(16) + n(17)
}

// procStatus sums a field of /proc/PID/task/*/status (per thread) or reads it
// from /proc/PID/status.
func procStatus(b *testing.B, pid int, field string, perThread bool) int64 {
	paths := []string{"/proc/" + strconv.Itoa(pid) + "/status"}
	if perThread {
		paths, _ = filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/status")
	}
	var sum int64
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, field+":"); ok {
				n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// BenchmarkWatcherIdle measures what the watcher costs while nothing
// changes: 10 s of an installed, in-sync host. Run with -benchtime 1x.
func BenchmarkWatcherIdle(b *testing.B) {
	if _, _, code := runBin("install"); code != 0 {
		b.Fatal("install failed")
	}
	defer runBin("uninstall")
	cmd := exec.Command(bin, "watch")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(2 * time.Second) // the first pass and start-up are not idle
	pid := cmd.Process.Pid
	const ticks = 100 // USER_HZ
	for i := 0; i < b.N; i++ {
		self0, child0 := procStat(b, pid)
		wake0 := procStatus(b, pid, "voluntary_ctxt_switches", true)
		time.Sleep(10 * time.Second)
		self1, child1 := procStat(b, pid)
		wake1 := procStatus(b, pid, "voluntary_ctxt_switches", true)
		b.ReportMetric(float64(self1-self0)*1000/ticks, "cpu-ms/10s")
		b.ReportMetric(float64(child1-child0)*1000/ticks, "child-cpu-ms/10s")
		b.ReportMetric(float64(wake1-wake0)/10, "wakeups/s")
		b.ReportMetric(float64(procStatus(b, pid, "VmRSS", false))/1024, "rss-MB")
	}
}
