package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// persistentDebs holds Debian's netfilter-persistent and iptables-persistent
// packages (scripts/deps.sh downloads them).
const persistentDebs = "/var/cache/ufw-docker-bridge-test/debs"

// hostRules is a host's own IPv4 firewall without UFW or firewalld, as a
// hand-made unit or iptables-persistent loads it: INPUT closed but for ssh.
const hostRules = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`

// fermConf is the same firewall in ferm, with Docker's chains and ours
// preserved (ferm replaces every table it loads).
const fermConf = `domain ip {
	table filter {
		chain INPUT {
			policy DROP;
			interface lo ACCEPT;
			mod conntrack ctstate (RELATED ESTABLISHED) ACCEPT;
			proto tcp dport 22 ACCEPT;
		}
		chain OUTPUT policy ACCEPT;
		chain (FORWARD DOCKER DOCKER-USER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2
			ufw-docker-bridge-forward ufw-docker-bridge-guests ufw-docker-bridge-input ufw-docker-bridge-user) @preserve;
	}
	table nat {
		chain (PREROUTING OUTPUT POSTROUTING DOCKER) @preserve;
	}
}
`

// TestIPTablesBackend: a host with neither UFW nor firewalld, its own
// iptables rules loaded by hand. Before install its INPUT rules do not
// protect published ports; after `install` (auto picks the iptables backend)
// they are closed, `allow` and `deny` decide, `--host-too` covers the
// host's own ports with the same rule, and the watcher with the guard keeps
// a denied port closed through an iptables-restore without -n of a save from
// before install, a netfilter-persistent reload and a ferm load with
// @preserve. uninstall removes our file and chains and nothing else.
func TestIPTablesBackend(t *testing.T) {
	fresh(t)
	labFirewall = plan.IPTables
	defer func() { labFirewall = plan.UFW }()
	mustSh(t, "ufw disable")
	rulesFile := filepath.Join(dir, "host.rules")
	if err := os.WriteFile(rulesFile, []byte(hostRules), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSh(t, "iptables-restore -n < "+rulesFile)
	defer func() {
		runBin("uninstall")
		lab.Sh("iptables -P INPUT ACCEPT && iptables -F INPUT && ufw --force enable")
		restartDockerd(t)
	}()
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	before := ""
	step("before install the host's INPUT rules do not protect published ports", func(t *testing.T) {
		expect(t, "before install", map[probe]bool{web: true, api: true, sshHost: true, hostDeny: false})
		before = filterWithoutCounters(t)
		if err := os.WriteFile(filepath.Join(dir, "before.save"), []byte(before), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, _ := exec.Command(bin, "doctor").CombinedOutput(); !strings.Contains(string(out), "exposed-port") {
			t.Errorf("doctor before install does not name the exposed ports:\n%s", out)
		}
	})
	step("install then uninstall gives back the filter table byte for byte", func(t *testing.T) {
		mustBin(t, "install")
		mustBin(t, "uninstall")
		if after := filterWithoutCounters(t); after != before {
			t.Errorf("uninstall did not give back the filter table it found:\n--- before\n%s--- after\n%s", before, after)
		}
	})
	step("install picks the iptables backend and closes them", func(t *testing.T) {
		out := mustBin(t, "install")
		t.Log(out)
		expect(t, "after install", map[probe]bool{web: false, api: false, db: false, sshHost: true, hostDeny: false})
		containerEgress(t)
		status := mustBin(t, "status")
		if !strings.Contains(status, "backend: iptables") || !strings.Contains(status, "in sync") {
			t.Errorf("status:\n%s", status)
		}
		healthyDoctor(t, "iptables")
		data, err := os.ReadFile(filepath.Join(dir, "state", "iptables.rules"))
		if err != nil || !strings.Contains(string(data), rules.MarkerBegin) {
			t.Fatalf("our own rules file: %v\n%s", err, data)
		}
		// It loads as our unit loads it at boot: only our chains declared
		// (not DOCKER-USER: a declared chain is flushed, other tools' rules too).
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, ":") && !strings.HasPrefix(l, ":ufw-docker-bridge-") {
				t.Errorf("our file declares a chain that is not ours: %s", l)
			}
		}
		// Our unit's ExecStartPre lines, pointed at the lab's state
		// directory, after a restore that wiped our chains: they come back
		// (the watcher's first pass then hooks them in).
		unit, err := os.ReadFile("../../packaging/systemd/ufw-docker-bridge.service")
		if err != nil {
			t.Fatal(err)
		}
		mustSh(t, "iptables-restore < "+filepath.Join(dir, "before.save"))
		n := 0
		for _, l := range strings.Split(string(unit), "\n") {
			if cmd, ok := strings.CutPrefix(l, "ExecStartPre=-"); ok && strings.Contains(cmd, "tables-restore") {
				mustSh(t, strings.ReplaceAll(cmd, "/etc/ufw-docker-bridge", filepath.Join(dir, "state"))+" </dev/null")
				n++
			}
		}
		if n != 2 {
			t.Errorf("the unit runs %d restores before the watcher, want 2 (one per family)", n)
		}
		want := plan.Filter(plan.Input{Family: rules.IPv4, Firewall: plan.IPTables})
		if d := rules.DiffChains(want, liveFilter(t), rules.OwnedChains...); len(d) > 0 {
			t.Errorf("after the unit's restores our chains differ: %v", d)
		}
		mustBin(t, "sync")
		if files := readUFW(t); files["after.rules"] != string(pristine["after.rules"]) {
			t.Error("install with the iptables backend changed UFW's after.rules")
		}
	})
	step("allow, deny and --host-too", func(t *testing.T) {
		mustBin(t, "allow", "9443")
		mustBin(t, "allow", "3306/tcp", "from", lanNet)
		mustBin(t, "allow", "2222", "--host-too")
		mustBin(t, "deny", "from", deniedAddr, "--host-too")
		sshDenied := probe{name: "host ssh", from: deniedAddr, port: 22, want: "ssh"}
		apiDenied := probe{name: "api", from: deniedAddr, port: 9443, want: "api"}
		expect(t, "allow 9443, 3306 from LAN, 2222 --host-too, deny "+deniedAddr+" --host-too", map[probe]bool{
			web: false, api: true, apiLAN: true, db: false, dbLAN: true, sshHost: true, hostDeny: true,
			sshDenied: false, apiDenied: false,
		})
		list := mustBin(t, "list")
		if !strings.Contains(list, "allow 2222 --host-too") || !strings.Contains(list, "deny from "+deniedAddr+" --host-too") {
			t.Errorf("list:\n%s", list)
		}
		mustBin(t, "delete", "deny", "from", deniedAddr, "--host-too")
		expect(t, "deny deleted", map[probe]bool{sshDenied: true, apiDenied: true})
	})
	step("the watcher and the guard through restores of other tools", func(t *testing.T) {
		w := startWatcher(t)
		defer w.Kill(t)
		prober := startDeniedProber(t)
		// A save from before install: Docker's chains, the host's rules, none of ours.
		if err := os.WriteFile(filepath.Join(dir, "old.save"), []byte(before), 0o600); err != nil {
			t.Fatal(err)
		}
		clobbers := []lab.Clobber{
			{Name: "iptables-restore (no -n) of a save from before install", Script: "iptables-restore < " + filepath.Join(dir, "old.save")},
			{Name: "iptables -F DOCKER-USER", Script: "iptables -F DOCKER-USER"},
			{Name: "INPUT flushed and reloaded by the host's script", Script: "iptables -F INPUT && iptables-restore -n < " + rulesFile},
		}
		lat := lab.ClobberRounds(t, 3, clobbers, func(start time.Time) time.Duration { return waitRepaired(t, start) })
		if debs, _ := filepath.Glob(filepath.Join(persistentDebs, "*-persistent_*.deb")); len(debs) == 2 {
			// Debian's netfilter-persistent and iptables-persistent, unpacked
			// into an overlay of the root (UFW's package Breaks them), and
			// their reload: iptables-restore without -n of
			// /etc/iptables/rules.v4, which wipes Docker's chains too.
			root := overlayRoot(t, "persistent")
			unpacked := filepath.Join(dir, "persistent-debs")
			for _, d := range debs {
				mustSh(t, "dpkg-deb -x "+d+" "+unpacked)
			}
			// Their programs and plugins only: the packages' lib/ would
			// replace the root's /lib symlink.
			mustSh(t, "cp -a "+unpacked+"/usr/. "+root+"/usr/ && cp -a "+unpacked+"/etc/default/. "+root+"/etc/default/")
			mustSh(t, "mkdir -p "+root+"/etc/iptables && cp "+rulesFile+" "+root+"/etc/iptables/rules.v4")
			mustInRoot(t, root, "netfilter-persistent reload")
			d := waitRepaired(t, time.Now())
			lat = append(lat, d)
			t.Logf("%-55s repaired in %v", "netfilter-persistent reload", d)
			restartDockerd(t) // Docker's own chains come back only with Docker
			waitRepaired(t, time.Now())
		} else {
			t.Errorf("no netfilter-persistent packages in %s (make deps downloads them)", persistentDebs)
		}
		if _, err := exec.LookPath("ferm"); err == nil {
			conf := filepath.Join(dir, "ferm.conf")
			if err := os.WriteFile(conf, []byte(fermConf), 0o644); err != nil {
				t.Fatal(err)
			}
			// Debian's ferm prefers the iptables-legacy tools whenever they
			// are installed, while Docker (and we) use iptables-nft, Debian
			// 12's default: its rules would land in other tables, which
			// doctor names. A host that runs ferm next to Docker keeps both
			// on one variant; here ferm is shown no legacy tools.
			mustSh(t, "mount --bind /dev/null /usr/sbin/xtables-legacy-multi")
			defer lab.Sh("umount /usr/sbin/xtables-legacy-multi")
			for i := 0; i < 3; i++ {
				mustSh(t, "ferm "+conf)
				d := waitRepaired(t, time.Now())
				lat = append(lat, d)
				t.Logf("%-55s repaired in %v", "ferm with @preserve", d)
			}
		} else {
			t.Error("ferm is not installed (make deps installs it)")
		}
		checkNoLeaks(t, prober, lat, "restores")
		expect(t, "after the restores", map[probe]bool{web: false, api: true, apiLAN: true, db: false, dbLAN: true, sshHost: true, hostDeny: true})
		containerEgress(t)
		w.Stop(t)
	})
	step("doctor on iptables-persistent, a hand-made unit and ferm", func(t *testing.T) {
		etc := filepath.Join(dir, "boot-etc")
		write := func(rel, text string) {
			t.Helper()
			p := filepath.Join(etc, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		doctor := func(title string, want ...string) map[string][]string {
			t.Helper()
			cmd := exec.Command(bin, "doctor", "--json")
			cmd.Env = append(os.Environ(), "UFW_DOCKER_BRIDGE_ETC="+etc)
			out, _ := cmd.Output()
			var fs []struct{ ID, Fix string }
			if err := json.Unmarshal(out, &fs); err != nil {
				t.Fatalf("doctor --json: %v\n%s", err, out)
			}
			got := map[string][]string{}
			for _, f := range fs {
				if strings.HasPrefix(f.ID, "saved-") || strings.HasPrefix(f.ID, "restore-") || strings.HasPrefix(f.ID, "ferm-") {
					got[f.ID] = append(got[f.ID], f.Fix)
				}
			}
			t.Logf("doctor, %s: %v", title, got)
			for _, id := range want {
				if got[id] == nil {
					t.Errorf("doctor, %s: no %s", title, id)
				}
			}
			if len(want) == 0 && len(got) > 0 {
				t.Errorf("doctor, %s: %v, want nothing", title, got)
			}
			return got
		}
		// iptables-persistent: saved while Docker runs, Debian's settings.
		os.RemoveAll(etc)
		write("iptables/rules.v4", mustSh(t, "iptables-save"))
		write("default/netfilter-persistent", "FLUSH_ON_STOP=0\n# IPTABLES_RESTORE_NOFLUSH=yes\n")
		doctor("iptables-persistent saved while Docker runs", "saved-docker-chains", "restore-without-noflush")
		write("iptables/rules.v4", hostRules)
		write("default/netfilter-persistent", "FLUSH_ON_STOP=0\nIPTABLES_RESTORE_NOFLUSH=yes\n")
		doctor("iptables-persistent fixed")
		// A hand-made unit.
		os.RemoveAll(etc)
		write("systemd/system/firewall.service", "[Service]\nType=oneshot\nExecStart=/usr/sbin/iptables-restore /etc/firewall.rules\n")
		doctor("a unit restoring without --noflush", "restore-without-noflush")
		write("systemd/system/firewall.service", "[Service]\nType=oneshot\nExecStart=/usr/sbin/iptables-restore --noflush /etc/firewall.rules\n")
		doctor("the unit fixed")
		// ferm: Debian's configuration, then that configuration with
		// FORWARD left to Docker and the lines doctor gives added, loaded by
		// ferm itself: Docker's chains and ours survive it. With the
		// iptables-legacy tools in place, doctor also says ferm would use
		// them (ferm-legacy); they are hidden from here on, as above.
		os.RemoveAll(etc)
		write("default/ferm", "ENABLED=\"yes\"\n")
		write("ferm/ferm.conf", "domain ip table filter chain INPUT policy ACCEPT;\n")
		doctor("ferm next to the iptables-legacy tools", "ferm-legacy")
		mustSh(t, "mount --bind /dev/null /usr/sbin/xtables-legacy-multi")
		defer lab.Sh("umount /usr/sbin/xtables-legacy-multi")
		debian, err := os.ReadFile("/etc/ferm/ferm.conf")
		if err != nil {
			t.Fatal(err)
		}
		write("ferm/ferm.conf", string(debian))
		got := doctor("Debian's ferm.conf", "ferm-no-preserve")
		fixed := strings.Replace(string(debian), "chain FORWARD {", "chain FORWARD-UNUSED {", 1)
		fixed = strings.Replace(fixed, "@include ferm.d/;", "", 1)
		for _, fix := range got["ferm-no-preserve"] {
			if line, ok := strings.CutPrefix(fix, "add to /etc/ferm/ferm.conf: "); ok {
				fixed += line + "\n"
			}
			if line, ok := strings.CutPrefix(fix, "move its rules elsewhere and preserve it: "); ok {
				fixed += line + "\n"
			}
		}
		// IPv4 only: the lab's ip6tables FORWARD still jumps to the chains
		// UFW left there, which a host with ferm does not have.
		write("ferm/ferm.conf", strings.ReplaceAll(fixed, "domain (ip ip6)", "domain ip"))
		doctor("ferm.conf with doctor's lines")
		mustSh(t, "ferm "+filepath.Join(etc, "ferm/ferm.conf"))
		// ferm defines INPUT itself, so the jump into our input chain is all
		// it drops (the watcher is stopped: sync puts it back).
		if out := mustBin(t, "sync"); !strings.Contains(out, "INPUT does not jump to "+rules.ChainInput) ||
			strings.Contains(out, "missing") || strings.Contains(out, "differs") {
			t.Errorf("sync after ferm with doctor's lines:\n%s", out)
		}
		expect(t, "after ferm with doctor's lines", map[probe]bool{web: false, api: true, sshHost: true})
		containerEgress(t)
	})
	step("uninstall removes our file and chains and nothing else", func(t *testing.T) {
		was := liveFilter(t)
		mustBin(t, "uninstall")
		if _, err := os.Stat(filepath.Join(dir, "state", "iptables.rules")); !os.IsNotExist(err) {
			t.Errorf("our rules file after uninstall: %v", err)
		}
		now := liveFilter(t)
		for _, c := range was.Chains {
			switch {
			case strings.HasPrefix(c.Name, "ufw-docker-bridge-"):
				if now.Chain(c.Name) != nil {
					t.Errorf("our chain %s is still there", c.Name)
				}
			case c.Name == rules.ChainDockerUser:
				if got := strings.Join(now.Chain(c.Name).Rules, "\n"); got != "-j RETURN" {
					t.Errorf("DOCKER-USER after uninstall: %q, want Docker's bare RETURN", got)
				}
			default:
				var want []string
				for _, r := range c.Rules {
					if r != "-j "+rules.ChainInput {
						want = append(want, r)
					}
				}
				if got := now.Chain(c.Name); got == nil || strings.Join(got.Rules, "\n") != strings.Join(want, "\n") || got.Policy != c.Policy {
					t.Errorf("uninstall changed %s: %+v, want %q", c.Name, got, want)
				}
			}
		}
		expect(t, "after uninstall", map[probe]bool{web: true, sshHost: true, hostDeny: false})
	})
}

// liveFilter is the live IPv4 filter table.
func liveFilter(t testing.TB) *rules.Table {
	t.Helper()
	d, err := rules.ParseSave(mustSh(t, "iptables-save -t filter"))
	if err != nil || d.Table("filter") == nil {
		t.Fatalf("parsing iptables-save: %v", err)
	}
	return d.Table("filter")
}

// filterWithoutCounters is iptables-save of the IPv4 filter table without
// its comments and counters.
func filterWithoutCounters(t testing.TB) string {
	t.Helper()
	return stripCounters(mustSh(t, "iptables-save -t filter | grep -v '^#'"))
}
