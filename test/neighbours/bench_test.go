package neighbours

import (
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// The figures of issue 19 for `make bench` (scripts/bench.sh), each beside
// its alternative in the same run; see test/lab's Figure.

// blockList writes n distinct /24 networks of public-looking IPv4 space
// (a FireHOL-level list's shape: many networks, no overlaps), none holding
// the lab's addresses, one a line, and returns the file.
func blockList(b testing.TB, n int) (string, []string) {
	b.Helper()
	r := rand.New(rand.NewSource(19))
	seen := map[int]bool{}
	var nets []string
	for len(nets) < n {
		v := r.Intn(1 << 24)
		if a := v >> 16; a == 0 || a == 10 || a == 127 || a >= 224 || a == 203 || seen[v] {
			continue
		}
		seen[v] = true
		nets = append(nets, fmt.Sprintf("%d.%d.%d.0/24", v>>16, (v>>8)&255, v&255))
	}
	path := filepath.Join(dir, fmt.Sprintf("list-%d.txt", n))
	if err := os.WriteFile(path, []byte("# bench list\n"+strings.Join(nets, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return path, nets
}

// took runs a command and returns how long it took, failing b when it fails.
func took(b testing.TB, name string, args ...string) time.Duration {
	b.Helper()
	start := time.Now()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		b.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return time.Since(start)
}

// BenchmarkSetLoad: `set load` of 100,000 networks (the set named by a
// deny rule, the table in place), against the same list as `ufw deny from`
// calls (20 measured, extrapolated) and as one iptables rule each: `iptables
// -A` calls (1,000 measured, extrapolated) and one iptables-restore of all
// 100,000 rules (measured).
func BenchmarkSetLoad(b *testing.B) {
	fresh(b)
	mustBin(b, "install")
	defer binExit("uninstall")
	mustBin(b, "deny", "from", "@bench")
	path, nets := blockList(b, 100000)
	var loads []time.Duration
	for i := 0; i < 3; i++ {
		loads = append(loads, took(b, bin, "set", "load", "bench", path))
		if i < 2 {
			took(b, bin, "set", "load", "bench", "/dev/null")
		}
	}
	sort.Slice(loads, func(i, j int) bool { return loads[i] < loads[j] })
	ours := lab.MS(loads[1])
	if out := mustSh(b, "nft list set inet ufw-docker-bridge-sets bench-v4 | grep -c /24 || true"); strings.TrimSpace(out) == "0" {
		b.Fatal("the set is empty after the load")
	}

	// UFW: one `ufw deny from` per network.
	keep := keepUFW(b)
	ufwCalls := 20
	d := time.Duration(0)
	for _, n := range nets[:ufwCalls] {
		d += took(b, "ufw", "deny", "from", n)
	}
	keep()
	ufwMS := lab.MS(d) / float64(ufwCalls) * float64(len(nets))

	// iptables: one rule per network, one call each, then one restore of all.
	mustSh(b, "iptables -N benchlist")
	defer lab.Sh("iptables -F benchlist; iptables -X benchlist")
	calls := 1000
	d = 0
	for _, n := range nets[:calls] {
		d += took(b, "iptables", "-A", "benchlist", "-s", n, "-j", "DROP")
	}
	appendMS := lab.MS(d) / float64(calls) * float64(len(nets))
	var in strings.Builder
	in.WriteString("*filter\n:benchlist - [0:0]\n")
	for _, n := range nets {
		in.WriteString("-A benchlist -s " + n + " -j DROP\n")
	}
	in.WriteString("COMMIT\n")
	restore := filepath.Join(dir, "benchlist.rules")
	os.WriteFile(restore, []byte(in.String()), 0o644)
	start := time.Now()
	mustSh(b, "iptables-restore --noflush "+restore)
	restoreMS := lab.MS(time.Since(start))
	lab.Figure(b, "sets.load.100000", ours, "ms", "runs=3(median)",
		"ufw-deny-from="+lab.Num(ufwMS)+"ms(from-20-calls)", lab.Ratio("ufw-deny-from", ufwMS, ours),
		"iptables-A-per-network="+lab.Num(appendMS)+"ms(from-1000-calls)", lab.Ratio("iptables-A", appendMS, ours),
		"iptables-restore-one-rule-each="+lab.Num(restoreMS)+"ms", lab.Ratio("iptables-restore", restoreMS, ours),
		lab.Verdict("<1000ms", ours < 1000))
}

// BenchmarkSyncWithSet: a `sync` that finds nothing to repair (the
// watcher's pass) with a deny set of 100,000 networks, against the same
// with the set empty (and an `allow` already there, both ways), and against the check it made before, `nft -s -t list
// table` of the sets table (nft reads every element first; the check reads
// the table's chains, rules and sets over netlink now). Medians of 5.
func BenchmarkSyncWithSet(b *testing.B) {
	fresh(b)
	mustBin(b, "install")
	defer binExit("uninstall")
	mustBin(b, "deny", "from", "@bench")
	path, _ := blockList(b, 100000)
	median := func(name string, args ...string) float64 {
		var ds []time.Duration
		for i := 0; i < 5; i++ {
			ds = append(ds, took(b, name, args...))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return lab.MS(ds[2])
	}
	took(b, bin, "set", "load", "bench", "/dev/null")
	empty := median(bin, "sync")
	emptyAllow := median(bin, "allow", "8081")
	took(b, bin, "set", "load", "bench", path)
	if out := mustBin(b, "sync"); strings.Contains(out, "sets:") {
		b.Fatalf("sync repaired the sets table after a load:\n%s", out)
	}
	full := median(bin, "sync")
	fullAllow := median(bin, "allow", "8081")
	nftList := median("nft", "-s", "-t", "list", "table", "inet", "ufw-docker-bridge-sets")
	lab.Figure(b, "sets.sync.deny-100000", full, "ms", "runs=5(median)", "empty-set="+lab.Num(empty)+"ms",
		fmt.Sprintf("vs-empty=%+.0fms", full-empty), "nft-list-sets-table="+lab.Num(nftList)+"ms",
		"allow-again="+lab.Num(fullAllow)+"ms", "allow-again-empty-set="+lab.Num(emptyAllow)+"ms",
		lab.Verdict("within-50ms-of-empty", full < empty+50))
}

// keepUFW saves UFW's user rules and returns what puts them back.
func keepUFW(b testing.TB) func() {
	b.Helper()
	mustSh(b, "cp -a /etc/ufw/user.rules "+dir+"/user.rules.keep && cp -a /etc/ufw/user6.rules "+dir+"/user6.rules.keep")
	return func() {
		mustSh(b, "cat "+dir+"/user.rules.keep > /etc/ufw/user.rules && cat "+dir+"/user6.rules.keep > /etc/ufw/user6.rules && ufw reload >/dev/null")
	}
}

// connRate dials the allowed published port 7777 (published to a
// container where nothing listens: each SYN is answered by a RST, so the
// figure is the path through the firewall, not a server) from the external
// namespace for d with 4 dialers, and returns the NEW connections a second.
// A dropped SYN would cost a 200 ms timeout: the rate shows it.
func connRate(b testing.TB, d time.Duration) float64 {
	b.Helper()
	lab.Sh("conntrack -F >/dev/null 2>&1")
	p, err := lab.StartProber("/run/netns/"+extNS, clientAddr, net.JoinHostPort(hostAddr, "7777"), 4, 200*time.Millisecond, 0)
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(d)
	attempts, _ := p.Stop()
	return float64(attempts) / d.Seconds()
}

// BenchmarkSetPacketRate: NEW connections a second through DOCKER-USER to
// an allowed published port with a deny set of 100,000 networks, against
// the rate with the set empty and with 10,000 linear iptables rules in
// DOCKER-USER (the shape of UFW's or fail2ban's iptables rules), none of
// which match the client. Three rounds, interleaved; medians.
func BenchmarkSetPacketRate(b *testing.B) {
	fresh(b)
	mustSh(b, docker+" rm -f sink >/dev/null 2>&1; "+docker+" run -d --name sink -p 7777:7777 bb:1 sleep 100000")
	defer lab.Sh(docker + " rm -f sink")
	mustBin(b, "install")
	defer binExit("uninstall")
	mustBin(b, "allow", "7777")
	mustBin(b, "deny", "from", "@bench")
	path, nets := blockList(b, 100000)
	var linear strings.Builder
	linear.WriteString("*filter\n:benchlinear - [0:0]\n")
	for _, n := range nets[:10000] {
		linear.WriteString("-A benchlinear -s " + n + " -j DROP\n")
	}
	linear.WriteString("COMMIT\n")
	linearPath := filepath.Join(dir, "benchlinear.rules")
	os.WriteFile(linearPath, []byte(linear.String()), 0o644)
	mustSh(b, "iptables-restore --noflush "+linearPath)
	defer lab.Sh("iptables -D DOCKER-USER -j benchlinear; iptables -F benchlinear; iptables -X benchlinear")
	const run = 3 * time.Second
	rates := map[string][]float64{}
	for round := 0; round < 3; round++ {
		took(b, bin, "set", "load", "bench", "/dev/null")
		rates["empty"] = append(rates["empty"], connRate(b, run))
		took(b, bin, "set", "load", "bench", path)
		rates["set"] = append(rates["set"], connRate(b, run))
		took(b, bin, "set", "load", "bench", "/dev/null")
		mustSh(b, "iptables -I DOCKER-USER -j benchlinear")
		rates["linear"] = append(rates["linear"], connRate(b, run))
		mustSh(b, "iptables -D DOCKER-USER -j benchlinear")
	}
	med := func(xs []float64) float64 { sort.Float64s(xs); return xs[len(xs)/2] }
	empty, set, lin := med(rates["empty"]), med(rates["set"]), med(rates["linear"])
	if empty < 100 {
		b.Fatalf("only %.0f connections a second with an empty set: the port is not open", empty)
	}
	lab.Figure(b, "sets.newconn.deny-100000", set, "conn/s", "empty-set="+lab.Num(empty)+"conn/s",
		fmt.Sprintf("vs-empty=%+.1f%%", 100*(set-empty)/empty),
		"linear-iptables-10000="+lab.Num(lin)+"conn/s", fmt.Sprintf("linear-vs-empty=%+.1f%%", 100*(lin-empty)/empty),
		lab.Verdict("within-10%-of-empty", set >= 0.9*empty))
}

// BenchmarkBanLatency: from `fail2ban-client set JAIL banip ADDR` to the
// first SYN from ADDR that gets no answer, over 100 bans (each unbanned
// again before the next), with our action. The probe dials every
// millisecond with a 50 ms timeout; an attempt that fails counts from its
// start.
func BenchmarkBanLatency(b *testing.B) {
	fresh(b)
	mustBin(b, "install")
	defer binExit("uninstall")
	mustBin(b, "allow", "8080")
	d := startFail2ban(b)
	defer func() { f2b("stop"); d.Stop(10 * time.Second) }()
	target := net.JoinHostPort(hostAddr, "8080")
	var lat []time.Duration
	for i := 0; i < 100; i++ {
		failed, stop, err := lab.FirstFailure("/run/netns/"+extNS, f2bBanned, target, 50*time.Millisecond, time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if out, err := f2b("set", jail, "banip", f2bBanned); err != nil {
			stop()
			b.Fatalf("banip: %v: %s", err, out)
		}
		select {
		case at := <-failed:
			lat = append(lat, at.Sub(start))
		case <-time.After(5 * time.Second):
			stop()
			b.Fatalf("ban %d: no SYN went unanswered within 5 s", i)
		}
		stop()
		if out, err := f2b("set", jail, "unbanip", f2bBanned); err != nil {
			b.Fatalf("unbanip: %v: %s", err, out)
		}
		if err := lab.WaitFor(5*time.Second, func() error {
			if !open(f2bBanned, 8080, "web") {
				return errNotYet
			}
			return nil
		}); err != nil {
			b.Fatalf("ban %d: the unban did not open the port", i)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	lab.Figure(b, "fail2ban.ban.latency.median", lab.MS(lat[len(lat)/2]), "ms", "bans=100",
		"worst="+lab.Num(lab.MS(lat[len(lat)-1]))+"ms")
}
