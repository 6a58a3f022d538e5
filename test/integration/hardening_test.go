package integration

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/block"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/textdiff"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// brokenRestore puts iptables-restore and ip6tables-restore wrappers that
// always fail first on PATH and returns the PATH= entry.
func brokenRestore(t testing.TB) string {
	t.Helper()
	broken := filepath.Join(dir, "broken-bin")
	mustSh(t, "mkdir -p "+broken+" && for c in iptables-restore ip6tables-restore; do "+
		"printf '#!/bin/sh\\necho \"$0: line 3: simulated failure\" >&2\\nexit 1\\n' > "+broken+"/$c; chmod +x "+broken+"/$c; done")
	return "PATH=" + broken + ":" + os.Getenv("PATH")
}

// TestConcurrentAllows: 20 allow commands at once, with the watcher running,
// end with all 20 rules in the state, the files and the kernel, once each.
func TestConcurrentAllows(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	defer runBin("uninstall")
	w := startWatcher(t)
	defer w.Kill(t)
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, _, codes[i] = runBin("allow", fmt.Sprintf("%d/tcp", 6100+i))
		}(i)
	}
	wg.Wait()
	for i, c := range codes {
		if c != 0 {
			t.Errorf("allow %d: exit %d", 6100+i, c)
		}
	}
	files := readUFW(t)
	live := mustSh(t, "iptables-save -t filter 2>/dev/null; ip6tables-save -t filter 2>/dev/null")
	for i := 0; i < 20; i++ {
		port := fmt.Sprint(6100 + i)
		if n := strings.Count(files["state"], "allow "+port+"/tcp\n"); n != 1 {
			t.Errorf("state holds allow %s %d times", port, n)
		}
		for _, f := range []string{"after.rules", "after6.rules"} {
			if n := strings.Count(files[f], "--ctorigdstport "+port+" -j RETURN"); n != 1 {
				t.Errorf("%s holds port %s %d times", f, port, n)
			}
		}
		if n := strings.Count(live, "--ctorigdstport "+port+" -j RETURN"); n != 2 {
			t.Errorf("the kernel holds port %s %d times, want once per family", port, n)
		}
	}
	w.Stop(t)
	for i := 0; i < 20; i++ {
		mustBin(t, "delete", "allow", fmt.Sprintf("%d/tcp", 6100+i))
	}
}

// TestFailClosed: with iptables-restore failing, sync and the watcher's
// repair report the error, and a clobbered denied port stays closed (the
// guard holds it); allow changes nothing (TestUFWStory).
func TestFailClosed(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	defer runBin("uninstall")
	mustSh(t, "iptables -F DOCKER-USER && iptables -A DOCKER-USER -j RETURN")
	_, errs, code := runBinEnv([]string{brokenRestore(t)}, "sync")
	if code != 1 || !strings.Contains(errs, "simulated failure") {
		t.Errorf("sync with a failing iptables-restore: exit %d, %q", code, errs)
	}
	expect(t, "clobbered, repair failing", map[probe]bool{web: false})
	mustBin(t, "sync")

	// The watcher's repair fails the same way: it logs the error, keeps
	// running, and the port stays closed.
	w := startWatcher(t, brokenRestore(t))
	defer w.Kill(t)
	mustSh(t, "iptables -F DOCKER-USER && iptables -A DOCKER-USER -j RETURN")
	if err := lab.WaitFor(5*time.Second, func() error {
		data, _ := os.ReadFile(w.Log)
		if !strings.Contains(string(data), "simulated failure") {
			return fmt.Errorf("the watcher did not report the failed repair:\n%s", data)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	expect(t, "clobbered, the watcher's repair failing", map[probe]bool{web: false})
	w.Stop(t)
	mustBin(t, "sync")
}

// TestFullDisk: with /etc/ufw, then the state directory, on a full file
// system, every changing command fails cleanly: exit 1, files, state and live
// rules as they were, no temporary file left.
func TestFullDisk(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	mustBin(t, "allow", "9443")
	defer runBin("uninstall")
	for _, target := range []string{"/etc/ufw", filepath.Join(dir, "state")} {
		full := filepath.Join(dir, "full")
		mustSh(t, fmt.Sprintf("mkdir -p %[1]s && mount -t tmpfs -o size=1m tmpfs %[1]s && cp -a %[2]s/. %[1]s/ && "+
			"(dd if=/dev/zero of=%[1]s/filler bs=4k 2>/dev/null; true) && mount --bind %[1]s %[2]s", full, target))
		files, live := readUFW(t), liveSave(t)
		for _, args := range [][]string{{"allow", "7777"}, {"deny", "from", "198.51.100.7"}, {"delete", "allow", "9443"}, {"uninstall"}} {
			_, errs, code := runBin(args...)
			if code != 1 || errs == "" {
				t.Errorf("%s full: %q: exit %d, %q", target, args, code, errs)
			}
			if !equalMaps(files, readUFW(t)) || liveSave(t) != live {
				t.Errorf("%s full: a failed %q changed files, state or live rules", target, args)
			}
		}
		if stale, _ := filepath.Glob(filepath.Join(full, ".*.tmp-*")); len(stale) > 0 {
			t.Errorf("%s full: temporary files left behind: %v", target, stale)
		}
		mustSh(t, fmt.Sprintf("umount %s && umount %s", target, full))
	}
}

// TestJunkStateFile: a hand-edited state file with a bad line is refused
// with its line number, and nothing is applied.
func TestJunkStateFile(t *testing.T) {
	path, orig := installedWith(t, []string{"allow", "9443"})
	live := liveSave(t)
	// Junk written by hand above the end line.
	body, ok := strings.CutSuffix(string(orig), "# end of rules\n")
	if !ok {
		t.Fatalf("the rules file does not end with its end line:\n%s", orig)
	}
	for _, junk := range []string{"allow 80\n-A FORWARD -j ACCEPT\n", "allow 80\"\n", "allow ８０\n", "COMMIT\n", "allow 1:0\n"} {
		if err := os.WriteFile(path, []byte(body+junk+"# end of rules\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		wantLine := fmt.Sprintf("line %d", strings.Count(body, "\n")+strings.Count(junk, "\n"))
		for _, cmd := range [][]string{{"sync"}, {"allow", "7000"}} {
			_, errs, code := runBin(cmd...)
			if code == 0 || !strings.Contains(errs, wantLine) {
				t.Errorf("%q with junk %q: exit %d, %q; want an error at %s", cmd, junk, code, errs, wantLine)
			}
		}
		if liveSave(t) != live {
			t.Errorf("junk %q changed the live rules", junk)
		}
	}
}

// TestCutShortStateFile: a rules file cut short in the middle of a source
// (192.168.77.0/24 -> 192.168.77.0/2, which would let 203.0.113.8 in) is
// refused with its line by sync, a command and the watcher; the live rules
// stay, and the client stays out.
func TestCutShortStateFile(t *testing.T) {
	path, orig := installedWith(t, []string{"allow", "3306/tcp", "from", lanNet})
	live := liveSave(t)
	w := startWatcherArgs(t, []string{"--safety-interval", "1s"})
	defer w.Kill(t)
	cut := strings.Index(string(orig), "192.168.77.0/2") + len("192.168.77.0/2")
	if err := os.WriteFile(path, orig[:cut], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"sync"}, {"allow", "7000"}, {"list"}} {
		_, errs, code := runBin(cmd...)
		if code != 1 || !strings.Contains(errs, "cut short") || !strings.Contains(errs, "line ") {
			t.Errorf("%q with the file cut short: exit %d, %q", cmd, code, errs)
		}
	}
	time.Sleep(1500 * time.Millisecond) // the watcher's event and safety passes
	w.Stop(t)
	if data, _ := os.ReadFile(w.Log); !strings.Contains(string(data), "cut short") {
		t.Errorf("the watcher did not report the file cut short:\n%s", data)
	}
	if now := liveSave(t); now != live {
		t.Errorf("a rules file cut short changed the live rules:\n%s", textdiff.Unified(live, now, 2))
	}
	expect(t, "rules file cut short", map[probe]bool{db: false, dbLAN: true})
}

// TestCrashSafety kills allow, delete, uninstall and install with SIGKILL at
// random moments, 100 times: every UFW file keeps intact markers and loads
// with iptables-restore --test, the state file parses, the next sync
// recovers (no stale lock), and at the end live, files and state agree.
func TestCrashSafety(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	defer runBin("uninstall")
	rnd := rand.New(rand.NewSource(2))
	ops := [][]string{{"allow", "6200"}, {"delete", "allow", "6200"}, {"uninstall"}, {"install"}, {"deny", "from", "198.51.100.9"},
		{"delete", "deny", "from", "198.51.100.9"}}
	killed := 0
	for i := 0; i < 100; i++ {
		before := readUFW(t)
		cmd := execCommand(bin, ops[i%len(ops)]...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rnd.Intn(45)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++ // killed mid-way, not already done
		}
		for _, f := range []string{"after.rules", "after6.rules"} {
			data, err := os.ReadFile(filepath.Join("/etc/ufw", f))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := block.Has(string(data)); err != nil {
				t.Fatalf("round %d: %s: %v", i, f, err)
			}
			restore := "iptables-restore"
			if f == "after6.rules" {
				restore = "ip6tables-restore"
			}
			if _, err := lab.Sh(restore + " --test < /etc/ufw/" + f); err != nil {
				t.Fatalf("round %d: %s does not load: %v", i, f, err)
			}
		}
		if _, err := (state.Store{Dir: filepath.Join(dir, "state")}).Load(); err != nil {
			t.Fatalf("round %d: state: %v", i, err)
		}
		// Each file is the old content or the one the command writes when it
		// runs to the end.
		mid := readUFW(t)
		runBin(ops[i%len(ops)]...)
		after := readUFW(t)
		for f, content := range mid {
			if content != before[f] && content != after[f] {
				t.Fatalf("round %d (%v): %s is neither the old nor the new content:\n%s", i, ops[i%len(ops)], f, content)
			}
		}
		mustSh(t, "timeout 10 "+bin+" sync >/dev/null")
	}
	mustBin(t, "install")
	mustBin(t, "sync")
	assertInSync(t)
	if stale, _ := filepath.Glob("/etc/ufw/.*.tmp-*"); len(stale) > 0 {
		t.Errorf("temporary files left after recovery: %v", stale)
	}
	t.Logf("100 commands, %d of them killed with SIGKILL before they finished; files, state and lock recovered every time", killed)
	if killed < 30 {
		t.Errorf("only %d commands were killed mid-way: the test did not test crashes", killed)
	}
	runBin("delete", "allow", "6200")
	runBin("delete", "deny", "from", "198.51.100.9")
}

// TestWithoutRoot: read-only commands work as an ordinary user and say what
// needs root; a changing command says it needs root and changes nothing.
func TestWithoutRoot(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	mustBin(t, "allow", "9443")
	defer runBin("uninstall")
	if err := os.Chmod(dir, 0o711); err != nil { // let nobody reach the binary and the state
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	asNobody := "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all env UFW_DOCKER_BRIDGE_LOCK=/tmp/nobody.lock " + bin + " "
	if out := mustSh(t, asNobody+"list"); !strings.Contains(out, "allow 9443") || !strings.Contains(out, "needs root") {
		t.Errorf("list as nobody:\n%s", out)
	}
	if out := mustSh(t, asNobody+"status"); !strings.Contains(out, "live state: unknown") {
		t.Errorf("status as nobody:\n%s", out)
	}
	for _, args := range []string{"--help", "--version", "allow --help"} {
		if out := mustSh(t, asNobody+args); !strings.Contains(out, "ufw-docker-bridge") && !strings.Contains(out, "allow") {
			t.Errorf("%s as nobody:\n%s", args, out)
		}
	}
	files, live := readUFW(t), liveSave(t)
	out, err := lab.Sh(asNobody + "allow 7000")
	if err == nil || !strings.Contains(out, "allow needs root") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("allow as nobody: %v %q", err, out)
	}
	if !equalMaps(files, readUFW(t)) || liveSave(t) != live {
		t.Error("allow as nobody changed something")
	}
}

// TestFailedUninstallKeepsTheGuard: an uninstall that fails after the guard
// was removed (here the NAT table's removal fails: an nft wrapper refuses
// it) puts the guard back with the rest: exit 1, and a clobbered DOCKER-USER
// still leaves the denied port closed.
func TestFailedUninstallKeepsTheGuard(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	defer runBin("uninstall")
	real, err := exec.LookPath("nft")
	if err != nil {
		t.Fatal(err)
	}
	wrap := filepath.Join(dir, "nft-refuses-nat")
	script := "#!/bin/sh\nin=$(cat)\ncase \"$in\" in *\"delete table inet " + rules.NATTable + "\"*) echo 'nft: simulated failure' >&2; exit 1;; esac\n" +
		"printf '%s\\n' \"$in\" | " + real + " \"$@\"\n"
	mustSh(t, "mkdir -p "+wrap+" && printf %s "+shellQuote(script)+" > "+wrap+"/nft && chmod +x "+wrap+"/nft")
	out, errs, code := runBinEnv([]string{"PATH=" + wrap + ":" + os.Getenv("PATH")}, "uninstall")
	t.Logf("$ ufw-docker-bridge uninstall (nft refusing the NAT table): exit %d: %s%s", code, out, errs)
	if code != 1 || !strings.Contains(errs, "simulated failure") {
		t.Fatalf("uninstall with a failing NAT removal: exit %d, %q", code, errs)
	}
	if tables := mustSh(t, "nft list tables"); !strings.Contains(tables, "inet "+rules.GuardTable) {
		t.Errorf("the failed uninstall left no guard:\n%s", tables)
	}
	mustSh(t, "iptables -F DOCKER-USER && iptables -A DOCKER-USER -j RETURN")
	expect(t, "failed uninstall, then DOCKER-USER flushed", map[probe]bool{web: false, db: false})
	mustBin(t, "sync")
}

// shellQuote quotes s for sh as one word.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestSymlinkedUFWFile: /etc/ufw/after.rules as a link into a repository of
// the admin's (etckeeper, configuration in git): install writes the block
// into the link's target and the link stays a link; the published port is
// closed (and a ufw reload, which reads through the link, keeps it so);
// uninstall gives the target back byte for byte.
func TestSymlinkedUFWFile(t *testing.T) {
	fresh(t)
	repo := filepath.Join(dir, "etc-repo")
	mustSh(t, "mkdir -p "+repo+" && mv /etc/ufw/after.rules "+repo+"/after.rules && ln -s "+repo+"/after.rules /etc/ufw/after.rules")
	defer lab.Sh("rm /etc/ufw/after.rules && mv " + repo + "/after.rules /etc/ufw/after.rules")
	before, err := os.ReadFile(filepath.Join(repo, "after.rules"))
	if err != nil {
		t.Fatal(err)
	}
	isLink := func() bool {
		st, err := os.Lstat("/etc/ufw/after.rules")
		return err == nil && st.Mode()&os.ModeSymlink != 0
	}
	mustBin(t, "install")
	defer runBin("uninstall")
	data, _ := os.ReadFile(filepath.Join(repo, "after.rules"))
	if !isLink() || !strings.Contains(string(data), rules.MarkerBegin) {
		t.Fatalf("install: link kept %v, block in the target %v", isLink(), strings.Contains(string(data), rules.MarkerBegin))
	}
	mustSh(t, "ufw reload")
	expect(t, "after.rules a link, installed, ufw reloaded", map[probe]bool{web: false, sshHost: true})
	mustBin(t, "uninstall")
	after, _ := os.ReadFile(filepath.Join(repo, "after.rules"))
	if !isLink() || string(after) != string(before) {
		t.Errorf("uninstall: link kept %v, target byte for byte %v", isLink(), string(after) == string(before))
	}
}

// TestStatusSaysUFWDisabled: status tells whether UFW is enabled, from
// UFW's own switch, not from its chains (which ufw disable leaves behind).
func TestStatusSaysUFWDisabled(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	defer runBin("uninstall")
	mustSh(t, "ufw disable")
	defer mustSh(t, "ufw --force enable")
	if out := mustBin(t, "status"); !strings.Contains(out, "ufw: disabled") {
		t.Errorf("status after ufw disable:\n%s", out)
	}
	mustSh(t, "ufw --force enable")
	if out := mustBin(t, "status"); !strings.Contains(out, "ufw: enabled") {
		t.Errorf("status after ufw enable:\n%s", out)
	}
}

// TestUFWResetHeals: ufw reset moves after.rules (and our block in it)
// away and disables UFW; at the next boot every published port and every
// denied source would get through. The installed record keeps us
// installed: status names the drift, and after a simulated reboot (every
// table flushed, UFW's boot loading nothing since reset disabled it,
// dockerd's start, then our unit's first pass) sync writes the block again
// and the policy holds, with real packets.
func TestUFWResetHeals(t *testing.T) {
	fresh(t)
	snap := filepath.Join(dir, "etc-ufw-before-reset")
	mustSh(t, "rm -rf "+snap+" && cp -a /etc/ufw "+snap)
	defer lab.Sh("find /etc/ufw -mindepth 1 -delete && cp -a " + snap + "/. /etc/ufw/ && ufw --force enable")
	mustBin(t, "install")
	mustBin(t, "allow", "9443")
	mustBin(t, "deny", "from", deniedAddr)
	defer runBin("uninstall")
	mustSh(t, "ufw --force reset")
	if data, _ := os.ReadFile("/etc/ufw/after.rules"); strings.Contains(string(data), rules.MarkerBegin) {
		t.Fatal("ufw reset kept our block: nothing to heal")
	}
	if out := mustBin(t, "status"); !strings.Contains(out, "DRIFT: installed") {
		t.Errorf("status after ufw reset does not name the drift:\n%s", out)
	}
	// The reboot: nothing survives in the kernel; UFW, disabled by the
	// reset, loads nothing; Docker makes its chains again.
	mustSh(t, "for c in iptables ip6tables; do for tb in filter nat mangle raw; do $c -t $tb -F; $c -t $tb -X; done; "+
		"$c -P INPUT ACCEPT; $c -P FORWARD ACCEPT; done; nft delete table inet "+rules.GuardTable+"; nft delete table inet "+rules.NATTable+"; true")
	restartDockerd(t)
	api := probe{name: "api", from: clientAddr, port: 9443, want: "api"}
	apiDenied := probe{name: "api", from: deniedAddr, port: 9443, want: "api"}
	expect(t, "rebooted after ufw reset, before our unit", map[probe]bool{web: true, apiDenied: true})
	out := mustBin(t, "sync")
	if !strings.Contains(out, "our block was missing from /etc/ufw/after.rules") {
		t.Errorf("sync does not say it healed after.rules:\n%s", out)
	}
	if data, _ := os.ReadFile("/etc/ufw/after.rules"); !strings.Contains(string(data), rules.MarkerBegin) {
		t.Error("after.rules has no block after sync")
	}
	expect(t, "our unit's first pass", map[probe]bool{web: false, api: true, apiDenied: false})
	if out := mustBin(t, "sync"); !strings.Contains(out, "in sync: nothing to repair") {
		t.Errorf("a second sync still repairs:\n%s", out)
	}
}

// TestMissingRulesFile: with the installed record there, a deleted rules
// file, or one that is a link to nothing, is an error for sync, the
// commands and the watcher, never an empty policy: the live rules (the deny
// rule included) and UFW's files stay, and the denied client stays out.
func TestMissingRulesFile(t *testing.T) {
	path, _ := installedWith(t, []string{"allow", "9443"}, []string{"deny", "from", deniedAddr})
	// Our chains, live: Docker's own may change meanwhile (a container
	// restarting), ours must not.
	ours := func() string { return mustSh(t, "iptables-save -t filter | grep -E 'DOCKER-USER|ufw-docker-bridge'") }
	live, files := ours(), readUFW(t)
	delete(files, "state")
	apiDenied := probe{name: "api", from: deniedAddr, port: 9443, want: "api"}
	for _, c := range []struct{ name, script, want string }{
		{"deleted", "true", "is missing while"},
		{"a link to nothing", "ln -s " + path + ".gone " + path, "a link to nothing"},
	} {
		mustSh(t, "rm -f "+path+" && "+c.script)
		for _, cmd := range [][]string{{"sync"}, {"allow", "7000"}, {"delete", "allow", "9443"}} {
			_, errs, code := runBin(cmd...)
			if code != 1 || !strings.Contains(errs, c.want) {
				t.Errorf("rules file %s, %q: exit %d, %q", c.name, cmd, code, errs)
			}
		}
		now := readUFW(t)
		delete(now, "state")
		if ours() != live || !equalMaps(now, files) {
			t.Errorf("rules file %s: our live rules or UFW's files changed", c.name)
		}
		expect(t, "rules file "+c.name, map[probe]bool{apiDenied: false})
	}
}

// installedWith starts a test from a fresh host, installs, runs each rule
// command, and returns the rules file's path and content; when the test
// ends the file is put back as it was (a link or junk in its place
// removed) and uninstall runs.
func installedWith(t *testing.T, cmds ...[]string) (string, []byte) {
	t.Helper()
	fresh(t)
	mustBin(t, "install")
	t.Cleanup(func() { runBin("uninstall") })
	for _, c := range cmds {
		mustBin(t, c...)
	}
	path := filepath.Join(dir, "state", "rules")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(path); os.WriteFile(path, orig, 0o644) })
	return path, orig
}

// TestIPv6NotManaged: with IPV6=no in /etc/default/ufw, UFW loads no
// after6.rules and, on every start and reload, deletes every IPv6 chain
// (ours too) and drops IPv6 but loopback's. install manages IPv4 alone and
// says so in one line; status and doctor see no drift, through a ufw
// reload; published ports stay closed and allow opens one. A host without
// ip6tables at all (the binaries hidden) installs the same way.
func TestIPv6NotManaged(t *testing.T) {
	fresh(t)
	// The file is a bind mount of the lab's copy: written in place.
	mustSh(t, "cp /etc/default/ufw "+dir+"/default-ufw.saved && sed 's/^IPV6=.*/IPV6=no/' "+dir+"/default-ufw.saved > /etc/default/ufw && ufw reload")
	defer func() {
		runBin("uninstall")
		lab.Sh("cat " + dir + "/default-ufw.saved > /etc/default/ufw && ufw reload")
		// UFW's IPV6=no start deleted Docker's IPv6 chains.
		restartDockerd(t)
	}()
	healthy := func(t *testing.T, title string) {
		t.Helper()
		out, _, code := runBin("status")
		if code != 0 || strings.Contains(out, "DRIFT") || !strings.Contains(out, "ipv6: not managed: IPV6=no") {
			t.Errorf("status %s: exit %d, want 0, no DRIFT and the IPv6 line:\n%s", title, code, out)
		}
		healthyDoctor(t, "ufw (IPV6=no)")
		if out := mustBin(t, "sync"); !strings.Contains(out, "in sync: nothing to repair") {
			t.Errorf("sync %s repairs:\n%s", title, out)
		}
	}
	t.Run("install manages IPv4 alone and says so", func(t *testing.T) {
		out := mustBin(t, "install")
		if n := strings.Count(out, "not managed"); n != 1 || !strings.Contains(out, "ipv6: not managed: IPV6=no in /etc/default/ufw") {
			t.Errorf("install does not say in one line that IPv6 is not managed:\n%s", out)
		}
		files := readUFW(t)
		if !strings.Contains(files["after.rules"], rules.MarkerBegin) || strings.Contains(files["after6.rules"], rules.MarkerBegin) {
			t.Errorf("want our block in after.rules alone")
		}
		expect(t, "installed, IPV6=no", map[probe]bool{web: false, api: false})
		mustBin(t, "allow", "9443")
		expect(t, "allow 9443, IPV6=no", map[probe]bool{web: false, api: true})
		healthy(t, "after install")
	})
	t.Run("a ufw reload changes nothing we see", func(t *testing.T) {
		mustSh(t, "ufw reload")
		healthy(t, "after ufw reload")
		expect(t, "after ufw reload, IPV6=no", map[probe]bool{web: false, api: true})
	})
	t.Run("a host without ip6tables", func(t *testing.T) {
		mustSh(t, "cat "+dir+"/default-ufw.saved > /etc/default/ufw")
		runBin("uninstall")
		// /usr/sbin without the ip6tables commands, over the real one.
		sbin := filepath.Join(dir, "sbin-no-ip6")
		mustSh(t, "rm -rf "+sbin+" && cp -a /usr/sbin "+sbin+" && rm -f "+sbin+"/ip6tables* && mount --bind "+sbin+" /usr/sbin")
		defer mustSh(t, "umount /usr/sbin")
		out, errs, code := runBin("install")
		if code != 0 || !strings.Contains(out, "ipv6: not managed: ip6tables-restore is not installed") {
			t.Fatalf("install without ip6tables: exit %d:\n%s%s", code, out, errs)
		}
		expect(t, "installed without ip6tables", map[probe]bool{web: false, api: true})
		if out, errs, code := runBin("status"); code != 0 || strings.Contains(out, "DRIFT") {
			t.Errorf("status without ip6tables: exit %d:\n%s%s", code, out, errs)
		}
		if out := mustBin(t, "sync"); !strings.Contains(out, "in sync: nothing to repair") {
			t.Errorf("sync without ip6tables repairs:\n%s", out)
		}
		if _, errs, code := runBin("uninstall"); code != 0 {
			t.Errorf("uninstall without ip6tables: exit %d: %s", code, errs)
		}
	})
}

// TestRulesFileDamageMatrix: the rules file cut at every byte, emptied,
// deleted, or a link to nothing: sync never changes our live chains (never
// wider, never emptier) and succeeds only where every rule and the end line
// are still there; the denied client stays out. (SIGKILL at random moments
// of a write is TestCrashSafety.) Then history still lists the journal, and
// restore 1 puts the last good rule set back in place of the damaged file.
func TestRulesFileDamageMatrix(t *testing.T) {
	path, orig := installedWith(t, []string{"allow", "3306/tcp", "from", lanNet}, []string{"deny", "from", deniedAddr},
		[]string{"allow", "9443"})
	ours := func() string { return mustSh(t, "iptables-save -t filter | grep -E 'DOCKER-USER|ufw-docker-bridge'") }
	live := ours()
	refused := 0
	for cut := 0; cut < len(orig); cut++ {
		if err := os.WriteFile(path, orig[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		_, errs, code := runBin("sync")
		whole := strings.Contains(string(orig[:cut]), "# end of rules")
		switch {
		case code == 1 && !whole:
			refused++
		case code == 0 && whole:
		default:
			t.Errorf("cut at byte %d of %d: sync exit %d (the end line there: %v): %s", cut, len(orig), code, whole, errs)
		}
		if code == 1 && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("cut at byte %d: more than one line: %q", cut, errs)
		}
		if ours() != live {
			t.Fatalf("cut at byte %d: %q changed our live rules", cut, orig[:cut])
		}
	}
	t.Logf("%d cuts refused, %d accepted (every rule and the end line there); our live rules never changed", refused, len(orig)-refused)
	t.Cleanup(func() { os.Remove(path + ".gone") })
	for _, c := range []struct{ name, script string }{
		{"deleted", "rm " + path},
		{"a link to nothing", "rm -f " + path + " && ln -s " + path + ".gone " + path},
	} {
		mustSh(t, c.script)
		if _, errs, code := runBin("sync"); code != 1 || ours() != live {
			t.Errorf("rules file %s: sync exit %d (%s), or our live rules changed", c.name, code, errs)
		}
	}
	expect(t, "after every damage", map[probe]bool{db: false, dbLAN: true, api: true,
		probe{name: "api", from: deniedAddr, port: 9443, want: "api"}: false})

	out := mustBin(t, "history")
	if n := strings.Count(out, "\n"); n != 3 || !strings.Contains(out, "  1  ") || !strings.Contains(out, "added") {
		t.Errorf("history after three changes:\n%s", out)
	}
	out = mustBin(t, "restore", "1")
	if !strings.Contains(out, "is replaced") || !strings.Contains(out, "restored: rule set 1") {
		t.Errorf("restore 1 over a damaged file does not say what it did:\n%s", out)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != string(orig) {
		t.Errorf("restore 1 did not write the last good rules file back (%v):\n%s", err, data)
	}
	if ours() != live {
		t.Error("restore 1 of the live rule set changed our live rules")
	}
	// Numbers count back from now, as restore 1 made a set of its own:
	// 4 is the first set, before the deny and allow 9443; after its
	// restore, 2 is the whole set again.
	apiDenied := probe{name: "api", from: deniedAddr, port: 9443, want: "api"}
	mustBin(t, "restore", "4")
	expect(t, "restore 4 (before the deny and allow 9443)", map[probe]bool{api: false, db: false, dbLAN: true})
	mustBin(t, "restore", "2")
	expect(t, "restore 2 (the whole set again)", map[probe]bool{api: true, apiDenied: false, db: false, dbLAN: true})
	if _, errs, code := runBin("restore", "99"); code != 1 || !strings.Contains(errs, "no number 99") {
		t.Errorf("restore 99: exit %d, %q", code, errs)
	}
	if _, errs, code := runBin("restore", "x"); code != 2 {
		t.Errorf("restore x: exit %d, %q, want 2", code, errs)
	}
}

// TestHandEditKeptAside: a rule added by hand inside our block of
// after.rules (it opens 3306 from everywhere when UFW next loads the
// file) is seen before the next write: the command says, in one warning
// line, where the edit was and where the edited file is kept, and the
// block is rendered from the rules again. Nothing is dropped without a
// word, and the kept copy outlives the one backup slot.
func TestHandEditKeptAside(t *testing.T) {
	installedWith(t, []string{"allow", "9443"})
	const edit = "-A ufw-docker-bridge-forward -p tcp --dport 3306 -j RETURN"
	mustSh(t, `sed '/^`+rules.MarkerBegin+`$/,/^`+rules.MarkerEnd+`$/s/^COMMIT$/`+edit+`\nCOMMIT/' /etc/ufw/after.rules > `+dir+
		`/after.edited && cat `+dir+`/after.edited > /etc/ufw/after.rules`)
	if !strings.Contains(readUFW(t)["after.rules"], edit) {
		t.Fatal("the hand edit did not land")
	}
	out := mustBin(t, "allow", "8080")
	var warning string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "warning: /etc/ufw/after.rules lines ") && strings.Contains(l, "edited by hand") {
			warning = l
		}
	}
	if warning == "" {
		t.Fatalf("allow after a hand edit of our block says nothing of it:\n%s", out)
	}
	kept := regexp.MustCompile(`kept as (\S+),`).FindStringSubmatch(warning)
	if kept == nil {
		t.Fatalf("the warning does not say where the edit is kept: %s", warning)
	}
	if data, err := os.ReadFile(kept[1]); err != nil || !strings.Contains(string(data), edit) {
		t.Errorf("the kept file %s does not hold the edit: %v", kept[1], err)
	}
	if strings.Contains(readUFW(t)["after.rules"], edit) {
		t.Error("the block still holds the hand edit after allow rendered it")
	}
	// Another write: the backup slot turns over, the kept copy stays.
	mustBin(t, "delete", "allow", "8080")
	if _, err := os.Stat(kept[1]); err != nil {
		t.Errorf("the kept copy is gone after the next write: %v", err)
	}
	if out := mustBin(t, "delete", "allow", "9443"); strings.Contains(out, "edited by hand") {
		t.Errorf("a block we rendered is taken for a hand edit:\n%s", out)
	}
	mustSh(t, "ufw reload")
	expect(t, "after ufw reload", map[probe]bool{db: false, api: false})
}

// TestUFWReloadRace: UFW's own commands hold /run/ufw.lock for their whole
// run, and ours take it around their writes. First, with the lock held as
// ufw holds it, allow waits: nothing of it is live or in after.rules until
// the lock is let go. Then 10 commands (allow, then delete, of one port,
// in turn) against a loop of `ufw reload`: right after each, with no
// watcher, the rule is live exactly when after.rules has it and the
// command said so.
func TestUFWReloadRace(t *testing.T) {
	installedWith(t)
	const rule = "--ctorigdstport 6300 "
	has := func() (live, file bool) {
		return strings.Contains(mustSh(t, "iptables-save -t filter"), rule), strings.Contains(readUFW(t)["after.rules"], rule)
	}
	t.Run("allow waits for UFW's lock", func(t *testing.T) {
		holder := exec.Command("python3", "-c", "import fcntl,sys\nf=open('/run/ufw.lock','w')\nfcntl.lockf(f,fcntl.LOCK_EX)\n"+
			"print('held',flush=True)\nsys.stdin.read()")
		stdin, _ := holder.StdinPipe()
		stdout, _ := holder.StdoutPipe()
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		defer holder.Wait()
		if _, err := stdout.Read(make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		done := make(chan int, 1)
		go func() { _, _, code := runBin("allow", "6300/tcp"); done <- code }()
		time.Sleep(time.Second)
		if live, file := has(); live || file {
			t.Errorf("allow wrote while ufw's lock was held: live %v, after.rules %v", live, file)
		}
		stdin.Close()
		if code := <-done; code != 0 {
			t.Fatalf("allow after the lock was let go: exit %d", code)
		}
		if live, file := has(); !live || !file {
			t.Errorf("allow once the lock was let go: live %v, after.rules %v", live, file)
		}
		mustBin(t, "delete", "allow", "6300/tcp")
	})
	t.Run("10 commands against a reload loop", func(t *testing.T) {
		stop := make(chan struct{})
		loopDone := make(chan int)
		go func() {
			n := 0
			for {
				select {
				case <-stop:
					loopDone <- n
					return
				default:
				}
				lab.Sh("ufw reload")
				n++
			}
		}()
		wrong := 0
		start := time.Now()
		for i := 0; i < 10; i++ {
			cmd := []string{"allow", "6300/tcp"}
			if i%2 == 1 {
				cmd = []string{"delete", "allow", "6300/tcp"}
			}
			if _, errs, code := runBin(cmd...); code != 0 {
				t.Errorf("%v: exit %d: %s", cmd, code, errs)
			}
			want := i%2 == 0
			if live, file := has(); live != want || file != want {
				wrong++
				t.Logf("%v against the reload loop: live %v, after.rules %v, want %v", cmd, live, file, want)
			}
		}
		close(stop)
		reloads := <-loopDone
		t.Logf("10 commands against %d ufw reloads in %v: %d ended with the live rules or after.rules wrong",
			reloads, time.Since(start).Round(time.Millisecond), wrong)
		if wrong > 0 {
			t.Errorf("%d of 10 commands against a reload loop ended wrong", wrong)
		}
	})
}
