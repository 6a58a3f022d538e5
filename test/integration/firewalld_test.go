package integration

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// labFirewall is the host firewall the tests' checks of the live state
// expect (TestFirewalldBackend sets it for its run).
var labFirewall = plan.UFW

// treeOf reads every file under root: path -> content.
func treeOf(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		out[strings.TrimPrefix(p, root)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFirewalldBackend: the same story as with UFW on a host that runs
// firewalld 1.3 (UFW disabled) and Docker with its firewalld integration,
// through firewall-cmd --reload and a firewalld restart, and an uninstall
// that leaves /etc/firewalld as it was.
func TestFirewalldBackend(t *testing.T) {
	fresh(t)
	fw := startFirewalldLab(t)
	labFirewall = plan.FirewallD
	defer func() { labFirewall = plan.UFW }()
	pristineFW := treeOf(t, "/etc/firewalld")
	// An LXD guest: firewalld's public zone (where lxdbr0 lands) refuses its
	// DHCP, and nothing forwards it.
	lxdNet := startLXD(t)
	lxdGW := strings.TrimSuffix(lxdNet, "0/24") + "1"
	lxg := newGuest(t, "udbfwg", "lxdbr0")
	mustSh(t, "ip netns exec "+extNS+" ip route replace "+lxdNet+" via "+hostAddr)
	defer lab.Sh("ip netns exec " + extNS + " ip route del " + lxdNet)
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	step("before install published ports ignore the public zone", func(t *testing.T) {
		expect(t, "before install", map[probe]bool{web: true, api: true, sshHost: true, hostDeny: false})
		lxg.static(t, strings.TrimSuffix(lxdNet, "0/24")+"200/24", lxdGW)
		lxg.matrix(t, "before install", false, false, false)
	})
	step("install closes them; host services follow the zone as before", func(t *testing.T) {
		start := time.Now()
		out := mustBin(t, "install")
		t.Logf("install took %v:\n%s", time.Since(start).Round(time.Millisecond), out)
		if !strings.Contains(out, "zone udb-guests written") || !strings.Contains(out, "reloaded") {
			t.Errorf("install does not say it wrote the zone and reloaded: %s", out)
		}
		expect(t, "after install", map[probe]bool{web: false, api: false, db: false, sshHost: true, hostDeny: false})
		containerEgress(t)
		status := mustBin(t, "status")
		if !strings.Contains(status, "backend: firewalld") || !strings.Contains(status, "in sync") {
			t.Errorf("status:\n%s", status)
		}
		// Docker answers firewalld's reload by putting its chains back;
		// on a loaded host it has inserted DOCKER-ISOLATION-STAGE-1 above
		// FORWARD's jump to DOCKER-USER after install's last look (seen
		// once in CI, after status had said "in sync"). The watcher puts
		// the jump first again on that event; here sync does, and says so.
		if ids, _ := doctorIDs(t); ids["docker-user-jump-not-first"] > 0 {
			out := mustBin(t, "sync")
			t.Logf("Docker moved FORWARD's jump after install; sync:\n%s", out)
			if !strings.Contains(out, "DOCKER-USER at rule") {
				t.Errorf("sync does not say it put FORWARD's jump first again:\n%s", out)
			}
		}
		healthyDoctor(t, "firewalld")
		if _, err := os.Stat(filepath.Join(dir, "state", "firewalld.rules")); err != nil {
			t.Errorf("our own rules file: %v", err)
		}
		if files := readUFW(t); files["after.rules"] != string(pristine["after.rules"]) {
			t.Error("install next to firewalld changed UFW's after.rules")
		}
		// Our zone takes lxdbr0 (DHCP, DHCPv6, DNS to the host), our policy
		// lets it out; DOCKER-USER keeps it from containers.
		if z := mustSh(t, "firewall-cmd --zone=udb-guests --list-interfaces"); !strings.Contains(z, "lxdbr+") {
			t.Errorf("zone udb-guests holds %q", z)
		}
		lxg.matrix(t, "after install", true, true, false)
		if lxg.fromContainer(t) {
			t.Error("container -> LXD guest is open")
		}
	})
	step("allow opens one port; a second install changes nothing", func(t *testing.T) {
		mustBin(t, "allow", "9443")
		expect(t, "allow 9443", map[probe]bool{web: false, api: true})
		if out := mustBin(t, "install"); strings.Contains(out, "reloaded") {
			t.Errorf("a second install reloaded firewalld: %s", out)
		}
	})
	w := startWatcher(t)
	defer w.Kill(t)
	// 50 dialers hit the denied port 8080 every ~5 ms through both; none
	// may get through. A restart leaves the host without any firewall
	// between firewalld's stop (which flushes every iptables table, Docker's
	// DNAT included) and its start: a connection then heads for docker-proxy
	// through INPUT, where the guard's input chain stops it.
	prober := startDeniedProber(t)
	var lat []time.Duration
	for _, tc := range []struct{ name, script string }{
		{"firewall-cmd --reload", "firewall-cmd --reload"},
		{"firewalld restarted", ""},
	} {
		step("right once Docker's rules are back after "+tc.name, func(t *testing.T) {
			start := time.Now()
			a0, s0 := prober.Counts()
			defer func() {
				a, s := prober.Counts()
				t.Logf("%s: %d probes of the denied port, %d got through", tc.name, a-a0, s-s0)
				if s-s0 != 0 || a-a0 < 300 {
					t.Errorf("%s: %d of %d probes of the denied port got through (want 0 of at least 300)", tc.name, s-s0, a-a0)
				}
			}()
			if tc.script != "" {
				mustSh(t, tc.script)
			} else {
				fw.Stop()
				fw.Start(t)
			}
			d := waitRepaired(t, start)
			lat = append(lat, d)
			// Docker's DNAT is Docker's to put back; the prober keeps
			// checking ours meanwhile.
			waitDockerRules(t)
			time.Sleep(2*time.Second - time.Since(start))
			t.Logf("%s: repaired %v after it began", tc.name, d.Round(time.Millisecond))
			expect(t, "after "+tc.name, map[probe]bool{web: false, api: true, db: false, sshHost: true, hostDeny: false})
			containerEgress(t)
			lxg.matrix(t, "after "+tc.name, true, true, false)
		})
	}
	prober.Stop()
	t.Logf("repair after firewall-cmd --reload %v, after a firewalld restart %v (from the start of each)", lat[0].Round(time.Millisecond), lat[1].Round(time.Millisecond))
	w.Stop(t)
	step("uninstall leaves firewalld's permanent configuration as it was", func(t *testing.T) {
		mustBin(t, "delete", "allow", "9443")
		mustBin(t, "uninstall")
		if diff := treeDiff(t, "/etc/firewalld", pristineFW); len(diff) > 0 {
			t.Errorf("/etc/firewalld differs after uninstall: %v", diff)
		}
		if _, err := os.Stat(filepath.Join(dir, "state", "firewalld.rules")); !os.IsNotExist(err) {
			t.Errorf("our rules file after uninstall: %v", err)
		}
		if out := mustSh(t, "firewall-cmd --get-zones; firewall-cmd --get-policies"); strings.Contains(out, "udb-") {
			t.Errorf("runtime still has our zone or policy: %s", out)
		}
		lxg.matrix(t, "after uninstall", false, false, false)
	})
	step("uninstall with firewalld stopped removes all of ours; its next start loads none", func(t *testing.T) {
		mustBin(t, "install", "--backend", "firewalld")
		if diff := treeDiff(t, "/etc/firewalld", pristineFW); len(diff) == 0 {
			t.Fatal("install wrote no zone or policy: nothing to remove")
		}
		fw.Stop()
		// firewalld's stop flushed every iptables table, ours too: sync
		// repairs what it owns (exit 0) and says what it could not reach.
		out := mustBin(t, "sync")
		if !strings.Contains(out, "repaired:") || !strings.Contains(out, "not reached: ") {
			t.Errorf("sync with firewalld stopped:\n%s", out)
		}
		out = mustBin(t, "uninstall")
		if !strings.Contains(out, "firewalld is not running") {
			t.Errorf("uninstall does not say how it removed firewalld's part:\n%s", out)
		}
		if diff := treeDiff(t, "/etc/firewalld", pristineFW); len(diff) > 0 {
			t.Errorf("/etc/firewalld differs after uninstall with firewalld stopped: %v", diff)
		}
		if tables := mustSh(t, "nft list tables"); strings.Contains(tables, "ufw-docker-bridge") {
			t.Errorf("a table of ours outlived the uninstall:\n%s", tables)
		}
		fw.Start(t)
		if out := mustSh(t, "firewall-cmd --get-zones; firewall-cmd --get-policies"); strings.Contains(out, "udb-") {
			t.Errorf("firewalld's start loaded a zone or policy of ours: %s", out)
		}
	})
}

// treeDiff lists the files under root that differ from, or are missing in,
// the tree before (treeOf).
func treeDiff(t testing.TB, root string, before map[string]string) []string {
	after := treeOf(t, root)
	var diff []string
	for p, c := range after {
		if before[p] != c {
			diff = append(diff, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			diff = append(diff, p+" (gone)")
		}
	}
	sort.Strings(diff)
	return diff
}

// TestFirewalldZoneConflict: `bridge NAME include` of a bridge the admin
// bound to one of firewalld's zones fails in one line that names that zone
// and what to do, and changes nothing; and doctor names a container bridge
// moved into one of the admin's zones.
func TestFirewalldZoneConflict(t *testing.T) {
	fresh(t)
	startFirewalldLab(t)
	defer func() {
		runBin("uninstall")
		lab.Sh("firewall-cmd --permanent --zone=public --remove-interface=br-adm")
	}()
	mustSh(t, "firewall-cmd --permanent --zone=public --add-interface=br-adm && firewall-cmd --reload")
	mustBin(t, "install", "--backend", "firewalld")
	before := mustBin(t, "list")
	out, errs, code := runBin("bridge", "br-adm", "include")
	t.Logf("$ ufw-docker-bridge bridge br-adm include: exit %d: %s%s", code, out, errs)
	if code != 1 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "zone public") || strings.Contains(errs, "org.fedoraproject") {
		t.Errorf("want exit 1 and one plain line naming zone public, got exit %d: %q", code, errs)
	}
	if after := mustBin(t, "list"); after != before {
		t.Errorf("the refused include changed the rules:\n%s", after)
	}
	// docker0 moved into the public zone: doctor names it and the fix.
	mustSh(t, "firewall-cmd --zone=public --change-interface=docker0")
	defer lab.Sh("firewall-cmd --zone=docker --change-interface=docker0")
	out, _, _ = runBin("doctor")
	if !strings.Contains(out, "container-bridge-in-zone: container bridge docker0 is in firewalld's zone public") {
		t.Errorf("doctor does not name docker0 in zone public:\n%s", out)
	}
}

// firewalldLab is firewalld running in the lab next to dockerd.
type firewalldLab struct{ d *lab.Daemon }

// startFirewalldLab disables UFW, starts the lab's system bus and
// firewalld, and restarts dockerd, which uses firewalld only when it finds
// it at start. When the test ends it stops firewalld, drops its table,
// enables UFW again and restarts dockerd.
func startFirewalldLab(t *testing.T) *firewalldLab {
	t.Helper()
	lab.Need(t, "firewalld", "firewall-cmd", "dbus-daemon")
	mustSh(t, "ufw disable")
	if _, err := os.Stat("/run/dbus/system_bus_socket"); err != nil {
		mustSh(t, "dbus-daemon --system --fork --nopidfile")
	}
	f := &firewalldLab{}
	f.Start(t)
	t.Cleanup(func() {
		f.Stop()
		lab.Sh("nft delete table inet firewalld; ufw --force enable")
		restartDockerd(t)
	})
	restartDockerd(t)
	return f
}

// Stop stops firewalld (by the PID recorded at its start) if it runs.
func (f *firewalldLab) Stop() {
	if f.d != nil {
		f.d.Stop(20 * time.Second)
		f.d = nil
	}
}

// Start starts firewalld and waits until it runs.
func (f *firewalldLab) Start(t testing.TB) { f.d = startFirewalld(t) }

// installWhileDockerLags: install next to firewalld reloads it, and the
// reload takes away the rules Docker passed through firewalld until Docker
// puts them back (70-230 ms in the lab, longer on a loaded host). With
// dockerd stopped (SIGSTOP) for the whole install, the live rules name none
// of Docker's bridges when ours are written: the renamed bridge must still
// be covered, so that its port is closed once Docker is back. It runs next
// to a running firewalld, uninstalled, with mail on mailnet (offPathLab).
func installWhileDockerLags(t *testing.T, mail probe) {
	fresh(t)
	// uninstall reloaded firewalld too: Docker's rules must be back before
	// it stops, as they are before any install that is not right after one.
	mailnetRules := func() error {
		_, err := lab.Sh("iptables -S FORWARD | grep -q -- '-o mailnet' && iptables -t nat -S DOCKER | grep -q -- '--dport 2525 ' && " +
			"iptables -S DOCKER | grep -q -- '-o mailnet .*-j ACCEPT'")
		return err
	}
	if err := lab.WaitFor(10*time.Second, mailnetRules); err != nil {
		t.Fatalf("Docker did not put back its rules for mailnet after uninstall: %v", err)
	}
	if err := dockerd.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := dockerd.Signal(syscall.SIGCONT); err != nil {
				t.Error(err)
			}
		}
	}
	defer resume()
	mustBin(t, "install", "--backend", "firewalld")
	defer runBin("uninstall")
	forward, _ := lab.Sh("iptables -S FORWARD")
	t.Logf("FORWARD while Docker was stopped:\n%s", forward)
	resume()
	// Docker puts its rules back on firewalld's Reloaded once it runs again.
	if err := lab.WaitFor(10*time.Second, mailnetRules); err != nil {
		t.Fatalf("Docker did not put back its rules for mailnet: %v", err)
	}
	expect(t, "installed while Docker lagged, Docker back", map[probe]bool{mail: false})
}
