package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/watch"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// repaired reports whether the live IPv4 filter table holds exactly what the
// rules render, with FORWARD's jump to DOCKER-USER first.
func repaired(t testing.TB) bool {
	t.Helper()
	return lab.InSync(t, filepath.Join(dir, "state"), plan.Input{Firewall: labFirewall})
}

// waitRepaired polls until the live state is right and returns how long that
// took from start.
func waitRepaired(t testing.TB, start time.Time) time.Duration {
	t.Helper()
	return lab.WaitInSync(t, filepath.Join(dir, "state"), plan.Input{Firewall: labFirewall}, start)
}

// waitDockerRules waits until Docker has put back api's DNAT and its
// filter rule after a firewall reload or restart: Docker replays its rules
// on firewalld's signals, and on a busy machine that takes seconds. Our own
// part is checked by waitRepaired and by the probers, not by this.
func waitDockerRules(t testing.TB) {
	t.Helper()
	mustSh(t, "for i in $(seq 300); do iptables -t nat -S DOCKER 2>/dev/null | grep -q -- '--dport 9443' && "+
		"iptables -S DOCKER 2>/dev/null | grep -q -- '--dport 443' && exit 0; sleep 0.1; done; "+
		"echo 'Docker did not put its rules back in 30 s'; exit 1")
}

// notifySocketAt listens where a watcher sends its systemd notifications.
func notifySocketAt(t testing.TB, path string) (string, <-chan string) {
	t.Helper()
	return path, lab.NotifySocket(t, path)
}

func waitNotify(t testing.TB, ch <-chan string, want string) {
	t.Helper()
	lab.WaitNotify(t, ch, want)
}

// TestWatchZeroExposure clobbers the firewall in every way the watcher issue
// names while an external client hammers a denied published port, and checks
// that not one connection got through and that every clobber was repaired.
func TestWatchZeroExposure(t *testing.T) {
	fresh(t)
	// A ruleset from before install: none of our rules (stdout only: a
	// warning on stderr would land inside the save).
	old, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatal(err)
	}
	mustBin(t, "install")
	mustBin(t, "allow", "9443")
	mustBin(t, "allow", "3306/tcp", "from", lanNet)
	defer runBin("uninstall")

	w := startWatcher(t)
	defer w.Kill(t)

	prober := startDeniedProber(t)
	clobbers := []lab.Clobber{
		{Name: "iptables -F DOCKER-USER", Script: "iptables -F DOCKER-USER"},
		{Name: "DOCKER-USER jump moved to the end of FORWARD", Script: "iptables -D FORWARD -j DOCKER-USER && iptables -A FORWARD -j DOCKER-USER"},
		{Name: "iptables-restore (no -n) of a save from before install", Script: "iptables-restore < " + filepath.Join(dir, "old.save")},
		{Name: "ufw disable, ufw enable", Script: "ufw disable && ufw --force enable"},
		{Name: "our chain deleted, DOCKER-USER reset (one restore)", Script: "printf '*filter\\n:DOCKER-USER - [0:0]\\n:ufw-docker-bridge-user - [0:0]\\n:ufw-docker-bridge-forward - [0:0]\\n" +
			"-A DOCKER-USER -j RETURN\\n-X ufw-docker-bridge-forward\\nCOMMIT\\n' | iptables-restore -n"},
	}
	if err := os.WriteFile(filepath.Join(dir, "old.save"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	lat := lab.ClobberRounds(t, 3, clobbers, func(start time.Time) time.Duration { return waitRepaired(t, start) })
	// dockerd restart: Docker rewrites its chains when it starts.
	restartDockerd(t)
	t.Logf("%-55s in sync %v after its containers run again", "dockerd restart", waitRepaired(t, time.Now()))
	// A network created while the watcher runs, its port published but not allowed.
	mustSh(t, docker+" network create watchnet && "+docker+" run -d --name watchweb --network watchnet -p 8282:80 bb:1 "+
		"sh -c 'mkdir -p /www && echo watchweb > /www/index.html && exec httpd -f -p 80 -h /www'")
	defer lab.Sh(docker + " rm -f watchweb; " + docker + " network rm watchnet")

	checkNoLeaks(t, prober, lat, "clobbers")
	expect(t, "after the clobbers", map[probe]bool{
		web: false, api: true, apiLAN: true, db: false, dbLAN: true, sshHost: true, hostDeny: false,
		{name: "watchweb(net while watching)", from: clientAddr, port: 8282, want: "watchweb"}: false,
	})
	containerEgress(t)
	if out := mustBin(t, "sync"); !strings.Contains(out, "in sync") {
		t.Errorf("sync after the watcher's repairs: %s", out)
	}

	w.Stop(t)
}

// startDeniedProber starts 50 dialers in the external namespace that hit
// web's published port 8080, which the tests deny, every ~5 ms.
func startDeniedProber(t testing.TB) *lab.Prober {
	t.Helper()
	p, err := lab.StartProber("/run/netns/"+extNS, clientAddr, hostAddr+":8080", 50, 250*time.Millisecond, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkNoLeaks stops the prober, logs the repair latencies and fails when a
// connection to the denied port got through or the probe loop did not run.
func checkNoLeaks(t testing.TB, p *lab.Prober, lat []time.Duration, what string) {
	t.Helper()
	attempts, leaks := p.Stop()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("%d %s: repair latency median %v, worst %v; %d probes of the denied port 8080, %d got through",
		len(lat), what, lat[len(lat)/2], lat[len(lat)-1], attempts, leaks)
	if leaks != 0 {
		t.Errorf("%d connections to a denied published port got through during the %s", leaks, what)
	}
	if attempts < 1000 {
		t.Errorf("only %d probes: the probe loop did not run", attempts)
	}
}

// watcher is a running `ufw-docker-bridge watch`.
type watcher = lab.Watcher

// startWatcher starts the watcher with a 5 s safety pass, a notify socket
// and extra environment variables, and waits for READY=1.
func startWatcher(t testing.TB, env ...string) *watcher {
	t.Helper()
	return startWatcherArgs(t, []string{"--safety-interval", "5s"}, env...)
}

// startWatcherArgs is startWatcher with the given watch flags.
func startWatcherArgs(t testing.TB, args []string, env ...string) *watcher {
	t.Helper()
	return lab.StartWatcher(t, bin, dir, args, env...)
}

// TestSyncRepairsOnlyDrift: sync prints nothing to repair when live equals
// desired, and names what it repaired otherwise.
func TestSyncRepairsOnlyDrift(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	defer runBin("uninstall")
	if out := mustBin(t, "sync"); !strings.Contains(out, "in sync") {
		t.Errorf("sync right after install: %s", out)
	}
	mustSh(t, "iptables -D FORWARD -j DOCKER-USER && iptables -A FORWARD -j DOCKER-USER && iptables -F DOCKER-USER && nft delete table inet "+rules.GuardTable)
	out := mustBin(t, "sync")
	for _, want := range []string{"ipv4: FORWARD jumps to DOCKER-USER at rule", "ipv4: DOCKER-USER does not jump to " + rules.ChainUser, "guard:"} {
		if !strings.Contains(out, want) {
			t.Errorf("sync output lacks %q:\n%s", want, out)
		}
	}
	if !repaired(t) {
		t.Error("sync left drift")
	}

	// Without the guard and without a repair, a clobber opens the denied
	// port: what the watcher test's probe loop would catch.
	mustSh(t, "nft delete table inet "+rules.GuardTable+" && iptables -F DOCKER-USER && iptables -A DOCKER-USER -j RETURN")
	expect(t, "clobbered, no guard, no repair", map[probe]bool{web: true})
	mustBin(t, "sync")
	expect(t, "after sync", map[probe]bool{web: false})
	// With the guard alone (nothing repaired yet), the same clobber opens nothing.
	mustSh(t, "iptables -F DOCKER-USER && iptables -A DOCKER-USER -j RETURN")
	expect(t, "clobbered, guard in place, no repair", map[probe]bool{web: false})
	mustBin(t, "sync")
}

// startFirewalld starts firewalld on the lab's system bus and waits until it
// runs.
func startFirewalld(t testing.TB) *lab.Daemon {
	t.Helper()
	d, err := lab.Start(filepath.Join(dir, "firewalld.out"), "firewalld", "--nofork", "--nopid",
		"--log-target", "file", "--log-file", filepath.Join(dir, "firewalld.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.WaitFor(30*time.Second, func() error { _, err := lab.Sh("firewall-cmd --state"); return err }); err != nil {
		d.Stop(10 * time.Second)
		t.Fatal(err)
	}
	return d
}

// TestWatchFirewalld: firewalld starting under a running Docker, reloading
// (it flushes every iptables table, and Docker re-adds its rules after
// Reloaded, above DOCKER-USER), and restarting (NameOwnerChanged, no
// Reloaded): the watcher repairs each, and a denied published port never
// answers. Afterwards the lab is put back: firewalld stopped, Docker and ufw
// reloaded.
func TestWatchFirewalld(t *testing.T) {
	lab.Need(t, "firewalld", "firewall-cmd", "dbus-daemon")
	fresh(t)
	mustBin(t, "install")
	mustBin(t, "allow", "9443")
	defer func() {
		runBin("uninstall")
		lab.Sh("nft delete table inet firewalld; ufw reload")
		restartDockerd(t)
	}()
	// The bus first, so that the watcher subscribes to firewalld's signals.
	if _, err := os.Stat("/run/dbus/system_bus_socket"); err != nil {
		mustSh(t, "dbus-daemon --system --fork --nopidfile")
	}
	w := startWatcher(t)
	defer w.Kill(t)
	prober := startDeniedProber(t)
	var lat []time.Duration
	step := func(name string, f func()) {
		f()
		d := waitRepaired(t, time.Now())
		lat = append(lat, d)
		t.Logf("%-50s repaired in %v", name, d)
	}
	var fw *lab.Daemon
	// Whatever fails, firewalld stops (by its recorded PID) before the
	// cleanup above restarts Docker: a firewalld left running would change
	// every test after this one.
	defer func() {
		if fw != nil {
			fw.Stop(20 * time.Second)
		}
	}()
	step("firewalld started under a running Docker", func() { fw = startFirewalld(t) })
	// Docker uses firewalld only when it finds it at start.
	step("dockerd restarted with firewalld", func() { restartDockerd(t) })
	for i := 0; i < 3; i++ {
		step("firewall-cmd --reload", func() { mustSh(t, "firewall-cmd --reload") })
	}
	step("firewalld stopped", func() { fw.Stop(20 * time.Second) })
	step("firewalld started again", func() { fw = startFirewalld(t) })
	// Docker re-adds its rules after firewalld's signals: wait for the DNAT
	// of api's port, then the state must be right.
	waitDockerRules(t)
	waitRepaired(t, time.Now())
	checkNoLeaks(t, prober, lat, "firewalld events")
	expect(t, "with firewalld", map[probe]bool{web: false, api: true})
	w.Stop(t)

	// The D-Bus source itself: a trigger on connecting, on Reloaded, and on
	// NameOwnerChanged when firewalld stops and starts.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	triggers := make(chan struct{}, 64)
	go watch.FirewallD{}.Run(ctx, func() { triggers <- struct{}{} })
	wantTrigger := func(what string) {
		t.Helper()
		select {
		case <-triggers:
		case <-time.After(5 * time.Second):
			t.Fatalf("no trigger from the firewalld source on %s", what)
		}
		time.Sleep(300 * time.Millisecond)
		for len(triggers) > 0 {
			<-triggers
		}
	}
	wantTrigger("connecting")
	mustSh(t, "firewall-cmd --reload")
	wantTrigger("firewall-cmd --reload")
	fw.Stop(20 * time.Second)
	wantTrigger("firewalld stopping")
	fw = startFirewalld(t)
	wantTrigger("firewalld starting")
}

// TestWatcherReloadsOnSIGHUP: SIGHUP (systemctl reload, the unit's
// ExecReload) runs a pass and leaves the watcher running; SIGTERM still
// stops it cleanly. Before, SIGHUP ended it (exit 129).
func TestWatcherReloadsOnSIGHUP(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	defer runBin("uninstall")
	w := startWatcher(t)
	defer w.Kill(t)
	for i := 0; i < 3; i++ {
		if err := syscall.Kill(w.PID(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := lab.WaitFor(5*time.Second, func() error {
		data, _ := os.ReadFile(w.Log)
		if n := strings.Count(string(data), "reload requested"); n != 3 {
			return fmt.Errorf("%d reloads logged, want 3", n)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if err := syscall.Kill(w.PID(), 0); err != nil {
		t.Fatalf("the watcher is gone after SIGHUP: %v", err)
	}
	w.Stop(t)
}
