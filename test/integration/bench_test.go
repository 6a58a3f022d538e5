package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// The benchmarks below are the figures of `make bench`. Each runs once
// (-benchtime 1x) in the namespace lab, measures ours and the alternative
// side by side, and writes one line per figure with lab.Figure().

// run runs a command without a shell and fails the benchmark when it fails.
func run(b testing.TB, name string, args ...string) {
	b.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		b.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// keepUFWUserRules saves UFW's user rule files and returns the function that
// puts them back and reloads UFW: the alternatives add hundreds of rules.
func keepUFWUserRules(b testing.TB) func() {
	saved := map[string][]byte{}
	for _, f := range []string{"user.rules", "user6.rules"} {
		data, err := os.ReadFile(filepath.Join("/etc/ufw", f))
		if err != nil {
			b.Fatal(err)
		}
		saved[f] = data
	}
	return func() {
		for f, data := range saved {
			if err := os.WriteFile(filepath.Join("/etc/ufw", f), data, 0o640); err != nil {
				b.Fatal(err)
			}
		}
		mustSh(b, "ufw reload")
	}
}

// BenchmarkAllowLatency: `allow PORT` from process start to the rule live
// and persisted (the process exits after both), against `ufw route allow`
// for the same kind of rule, median of 20 each.
func BenchmarkAllowLatency(b *testing.B) {
	fresh(b)
	mustBin(b, "install")
	defer runBin("uninstall")
	defer keepUFWUserRules(b)()
	const n = 20
	ours := lab.Timings(n, func(i int) { run(b, bin, "allow", fmt.Sprint(7300+i)) })
	theirs := lab.Timings(n, func(i int) { run(b, "ufw", "route", "allow", "proto", "tcp", "to", "any", "port", fmt.Sprint(7400+i)) })
	if out := mustBin(b, "list"); strings.Count(out, "allow 73") != n {
		b.Fatalf("not every allow was recorded:\n%s", out)
	}
	o, t := lab.MS(ours[n/2]), lab.MS(theirs[n/2])
	lab.Figure(b, "allow.latency.median", o, "ms", "ufw-route-allow="+lab.Num(t)+"ms", lab.Ratio("ufw-route-allow", t, o), lab.Verdict(">=5x", t/o >= 5))
	lab.Figure(b, "allow.latency.worst", lab.MS(ours[n-1]), "ms", "ufw-route-allow="+lab.Num(lab.MS(theirs[n-1]))+"ms", lab.Ratio("ufw-route-allow", lab.MS(theirs[n-1]), lab.MS(ours[n-1])))
}

// countingPath returns a PATH whose iptables and nft commands log each start
// before they exec the real one, and a function that reads the log.
func countingPath(b testing.TB) (string, func() map[string]int) {
	wrap := filepath.Join(dir, "counting-bin")
	logPath := filepath.Join(dir, "counting.log")
	if err := os.MkdirAll(wrap, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, tool := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore", "nft"} {
		real, err := exec.LookPath(tool)
		if err != nil {
			b.Fatal(err)
		}
		script := fmt.Sprintf("#!/bin/sh\necho %s >> %s\nexec %s \"$@\"\n", tool, logPath, real)
		if err := os.WriteFile(filepath.Join(wrap, tool), []byte(script), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	os.Remove(logPath)
	return "PATH=" + wrap + ":" + os.Getenv("PATH"), func() map[string]int {
		data, _ := os.ReadFile(logPath)
		os.Remove(logPath)
		counts := map[string]int{}
		for _, l := range strings.Fields(string(data)) {
			counts[l]++
			counts["all"]++
		}
		return counts
	}
}

// allowPorts is n rules "allow P/tcp" on consecutive ports from 10000.
func allowPorts(b testing.TB, n int) rules.Ruleset {
	rs := make(rules.Ruleset, 0, n)
	for i := 0; i < n; i++ {
		r, err := rules.Parse([]string{"allow", fmt.Sprint(10000+i) + "/tcp"})
		if err != nil {
			b.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

// BenchmarkScale: `sync` bringing 100, 1,000 and 10,000 allow rules live
// and into the files on a host with 50 Docker networks, with the number of
// iptables processes it started, against the same rules applied one
// `iptables -A`/`ip6tables -A` pair at a time and one `ufw route allow` at a
// time (50 calls, extrapolated).
func BenchmarkScale(b *testing.B) {
	fresh(b)
	for i := 0; i < 50; i++ {
		mustSh(b, fmt.Sprintf("%s network create --subnet 10.200.%d.0/24 bench%d >/dev/null", docker, i, i))
	}
	defer lab.Sh("for i in $(seq 0 49); do " + docker + " network rm bench$i; done >/dev/null")
	mustBin(b, "install")
	defer runBin("uninstall")
	store := state.Store{Dir: filepath.Join(dir, "state")}
	// syncTo makes rs the state and runs sync, returning how long it took.
	syncTo := func(rs rules.Ruleset, env ...string) time.Duration {
		if err := store.Save(rs); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if out, errs, code := runBinEnv(env, "sync"); code != 0 {
			b.Fatalf("sync: exit %d: %s%s", code, out, errs)
		}
		return time.Since(start)
	}
	pathEnv, counts := countingPath(b)

	// The alternatives, per rule: an iptables -A and ip6tables -A pair into
	// a scratch chain, and ufw route allow (both families).
	run(b, "iptables", "-N", "bench-scratch")
	run(b, "ip6tables", "-N", "bench-scratch")
	defer lab.Sh("iptables -F bench-scratch; iptables -X bench-scratch; ip6tables -F bench-scratch; ip6tables -X bench-scratch")
	appendRules := func(n int) time.Duration {
		start := time.Now()
		for i := 0; i < n; i++ {
			for _, ipt := range []string{"iptables", "ip6tables"} {
				run(b, ipt, "-A", "bench-scratch", "-p", "tcp", "-m", "conntrack", "--ctorigdstport", fmt.Sprint(10000+i), "-j", "RETURN")
			}
		}
		d := time.Since(start)
		run(b, "iptables", "-F", "bench-scratch")
		run(b, "ip6tables", "-F", "bench-scratch")
		return d
	}
	restoreUFW := keepUFWUserRules(b)
	const ufwCalls = 50
	ufwStart := time.Now()
	for i := 0; i < ufwCalls; i++ {
		run(b, "ufw", "route", "allow", "proto", "tcp", "to", "any", "port", fmt.Sprint(10000+i))
	}
	ufwPerRule := time.Since(ufwStart) / ufwCalls
	restoreUFW()
	appendPerRule := appendRules(1000) / 1000

	for _, n := range []int{100, 1000, 10000} {
		rs := allowPorts(b, n)
		ds := make([]time.Duration, 3)
		for i := range ds {
			syncTo(nil)
			ds[i] = syncTo(rs)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		syncTo(nil)
		counts()
		syncTo(rs, pathEnv)
		c := counts()
		if !strings.Contains(mustSh(b, "iptables -S "+rules.ChainForward), fmt.Sprintf("--ctorigdstport %d ", 10000+n-1)) {
			b.Fatalf("sync of %d rules: the last rule is not live", n)
		}
		ours := lab.MS(ds[1])
		appendMS := lab.MS(appendPerRule * time.Duration(n))
		appendCost := "iptables-A=" + lab.Num(appendMS) + "ms(from-1000-measured)"
		if n <= 1000 {
			appendMS = lab.MS(appendRules(n))
			appendCost = "iptables-A=" + lab.Num(appendMS) + "ms"
		}
		ufwCost := lab.MS(ufwPerRule * time.Duration(n))
		name := fmt.Sprintf("scale.sync.rules-%d", n)
		kv := []string{appendCost, lab.Ratio("iptables-A", appendMS, ours), "ufw-route-allow=" + lab.Num(ufwCost) + "ms(from-50-calls)", lab.Ratio("ufw-route-allow", ufwCost, ours),
			fmt.Sprintf("us-per-rule=%s", lab.Num(float64(ds[1].Microseconds())/float64(n))),
			fmt.Sprintf("processes=%d", c["all"]),
			fmt.Sprintf("restores=%d", c["iptables-restore"]+c["ip6tables-restore"])}
		if n == 1000 {
			kv = append(kv, lab.Verdict("<100ms,1-restore-per-family", ours < 100 && c["iptables-restore"] == 1 && c["ip6tables-restore"] == 1))
		}
		lab.Figure(b, name, ours, "ms", kv...)
	}
	syncTo(nil)
}

// clobber is one way another tool breaks our rules.
type clobber struct{ name, script string }

// BenchmarkRepair: the watcher's repair latency after each of four clobbers,
// 20 times each, from the end of the clobber to a verified live state, and
// the connections to a denied published port that got through meanwhile
// (an external client dials it every ~5 ms on 50 dialers).
func BenchmarkRepair(b *testing.B) {
	fresh(b)
	foreign, err := exec.Command("iptables-save").Output()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "foreign.save"), foreign, 0o600); err != nil {
		b.Fatal(err)
	}
	mustBin(b, "install")
	mustBin(b, "allow", "9443")
	defer runBin("uninstall")
	w := startWatcher(b)
	defer w.Kill(b)
	prober := startDeniedProber(b)
	defer prober.Stop()
	const rounds = 20
	total := 0
	measure := func(c clobber) {
		var lat []time.Duration
		for i := 0; i < rounds; i++ {
			mustSh(b, c.script)
			lat = append(lat, waitRepaired(b, time.Now()))
			time.Sleep(150 * time.Millisecond) // rounds are independent, and slower than the 20 repairs a second after which the watcher backs off
		}
		total += rounds
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		lab.Figure(b, "repair."+c.name+".median", lab.MS(lat[rounds/2]), "ms", "alternative=none(nothing-repairs)")
		lab.Figure(b, "repair."+c.name+".worst", lab.MS(lat[rounds-1]), "ms", lab.Verdict("<50ms", lat[rounds-1] < 50*time.Millisecond))
	}
	for _, c := range []clobber{
		{"flush-docker-user", "iptables -F DOCKER-USER"},
		{"move-forward-jump", "iptables -D FORWARD -j DOCKER-USER && iptables -A FORWARD -j DOCKER-USER"},
		{"foreign-restore", "iptables-restore < " + filepath.Join(dir, "foreign.save")},
	} {
		measure(c)
	}
	// firewalld: started under Docker, Docker restarted to use it, then reloads.
	if _, err := os.Stat("/run/dbus/system_bus_socket"); err != nil {
		mustSh(b, "dbus-daemon --system --fork --nopidfile")
	}
	fw := startFirewalld(b)
	defer func() {
		fw.Stop(20 * time.Second)
		runBin("uninstall")
		lab.Sh("nft delete table inet firewalld; ufw reload")
		restartDockerd(b)
	}()
	restartDockerd(b)
	waitRepaired(b, time.Now())
	measure(clobber{"firewalld-reload", "firewall-cmd --reload >/dev/null"})
	attempts, leaks := prober.Stop()
	// The alternative: DOCKER-USER rules alone, with no guard and no
	// watcher, and one clobber, probed for a second.
	w.Stop(b)
	mustSh(b, "nft delete table inet "+rules.GuardTable+" && iptables -F DOCKER-USER && iptables -A DOCKER-USER -j RETURN")
	bare := startDeniedProber(b)
	time.Sleep(time.Second)
	bareAttempts, bareLeaks := bare.Stop()
	mustBin(b, "sync")
	lab.Figure(b, "exposure.leaks", float64(leaks), "connections", fmt.Sprintf("clobbers=%d", total), fmt.Sprintf("probes=%d", attempts),
		fmt.Sprintf("unguarded-one-clobber=%d-of-%d-probes-in-1s", bareLeaks, bareAttempts), lab.Verdict("0", leaks == 0 && attempts > 1000))
}

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
// changes: 30 s of an installed, in-sync host.
func BenchmarkWatcherIdle(b *testing.B) {
	fresh(b)
	mustBin(b, "install")
	defer runBin("uninstall")
	w := startWatcherArgs(b, nil) // the default safety interval
	defer w.Kill(b)
	time.Sleep(2 * time.Second) // start-up is not idle
	pid := w.PID()
	const ticks = 100 // USER_HZ
	const idle = 30 * time.Second
	self0, child0 := procStat(b, pid)
	wake0 := procStatus(b, pid, "voluntary_ctxt_switches", true)
	time.Sleep(idle)
	self1, child1 := procStat(b, pid)
	wake1 := procStatus(b, pid, "voluntary_ctxt_switches", true)
	cpu := float64(self1-self0+child1-child0) * 1000 / ticks
	rss := float64(procStatus(b, pid, "VmRSS", false)) / 1024
	lab.Figure(b, "watcher.idle.cpu", cpu, "ms/30s", "alternative=none(no-daemon)", lab.Verdict("<10ms", cpu < 10))
	lab.Figure(b, "watcher.idle.wakeups", float64(wake1-wake0)/idle.Seconds(), "per-s", "alternative=none(no-daemon)")
	lab.Figure(b, "watcher.idle.rss", rss, "MB", "alternative=none(no-daemon)", lab.Verdict("<25MB", rss < 25))
	w.Stop(b)
}
