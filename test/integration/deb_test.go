package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// overlayRoot mounts a writable overlay of the machine's own root (changes go
// to a tmpfs) with /proc, /sys, /dev and the lab's private /run, inside the
// lab's mount namespace, and returns its path: dpkg there writes its own
// copy of the package database and of /etc, never the machine's. UFW's files
// there are the lab's.
func overlayRoot(t testing.TB, name string) string {
	t.Helper()
	base := filepath.Join(dir, name)
	root := filepath.Join(base, "root")
	mustSh(t, fmt.Sprintf("mkdir -p %[1]s && mount -t tmpfs tmpfs %[1]s && mkdir %[1]s/upper %[1]s/work %[2]s && "+
		"mount -t overlay overlay -o lowerdir=/,upperdir=%[1]s/upper,workdir=%[1]s/work %[2]s && "+
		"mount -t proc proc %[2]s/proc && mount --rbind /sys %[2]s/sys && mount --rbind /dev %[2]s/dev && "+
		"mount --bind /run %[2]s/run && cp -a /etc/ufw/. %[2]s/etc/ufw/ && cp -a /etc/default/ufw %[2]s/etc/default/ufw",
		base, root))
	t.Cleanup(func() { lab.Sh("umount -R " + root + "; umount " + base) })
	return root
}

// inRoot runs a shell script chrooted into root with a clean environment
// (as dpkg would run from a root shell), and returns its output and exit code.
func inRoot(root, script string) (string, int) {
	cmd := exec.Command("env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "DEBIAN_FRONTEND=noninteractive",
		"chroot", root, "sh", "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), exitCode(err)
	}
	return string(out), 0
}

func mustInRoot(t testing.TB, root, script string) string {
	t.Helper()
	t.Logf("(chroot) $ %s", script)
	out, code := inRoot(root, script)
	if code != 0 {
		t.Fatalf("%s: exit %d:\n%s", script, code, out)
	}
	return out
}

// readFiles returns UFW's rule files under root.
func readFiles(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range ufwFiles {
		data, err := os.ReadFile(filepath.Join(root, "etc/ufw", f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(data)
	}
	return out
}

// TestDebPackage builds the .deb, checks it with lintian, and installs,
// reinstalls (the upgrade path of the maintainer scripts), removes and
// purges it for real with dpkg in an overlay of the machine's root, with the
// lab's UFW and dockerd running, checking each step with real packets.
func TestDebPackage(t *testing.T) {
	fresh(t)
	deb := buildDeb(t)
	t.Logf("built %s; contents:\n%s", deb, mustSh(t, "dpkg-deb -c "+deb+" | awk '{print $1, $6}'"))
	if _, err := exec.LookPath("lintian"); err == nil {
		if out, err := exec.Command("lintian", "--fail-on", "error,warning", deb).CombinedOutput(); err != nil {
			t.Errorf("lintian: %v\n%s", err, out)
		} else {
			t.Logf("lintian: no error, no warning%s", strings.TrimPrefix(string(out), "running with root privileges is not recommended!\n"))
		}
	} else if os.Getenv("UFW_DOCKER_BRIDGE_REQUIRE_LAB") == "1" {
		t.Error("lintian is not installed (make deps installs it)")
	}

	root := overlayRoot(t, "dpkg")
	mustSh(t, "cp "+deb+" "+root+"/tmp/pkg.deb")
	before := readFiles(t, root)
	expect(t, "before the package", map[probe]bool{web: true, sshHost: true})

	out := mustInRoot(t, root, "dpkg -i /tmp/pkg.deb")
	t.Logf("%s", out)
	if !strings.Contains(out, "published Docker ports are now closed") || !strings.Contains(out, "ufw-docker-bridge allow PORT") {
		t.Errorf("postinst did not say how to open a port:\n%s", out)
	}
	expect(t, "after dpkg -i", map[probe]bool{web: false, api: false, sshHost: true})
	if !strings.Contains(readFiles(t, root)["after.rules"], rules.MarkerBegin) {
		t.Error("postinst installed no block into after.rules")
	}
	mustSh(t, "nft list table inet "+rules.GuardTable+" >/dev/null")
	for _, f := range []string{"/usr/share/man/man8/ufw-docker-bridge.8.gz", "/lib/systemd/system/ufw-docker-bridge.service",
		"/lib/systemd/system/docker.service.d/ufw-docker-bridge.conf", "/usr/share/bash-completion/completions/ufw-docker-bridge",
		"/etc/default/ufw-docker-bridge", "/etc/fail2ban/action.d/ufw-docker-bridge.conf"} {
		if _, err := os.Stat(root + f); err != nil {
			t.Errorf("not installed: %s", f)
		}
	}
	if out := mustInRoot(t, root, "systemd-analyze verify --man=no /lib/systemd/system/ufw-docker-bridge.service 2>&1"); out != "" {
		t.Errorf("systemd-analyze verify of the unit:\n%s", out)
	}
	mustInRoot(t, root, "ufw-docker-bridge allow 8080")
	expect(t, "after allow 8080", map[probe]bool{web: true, api: false})

	// The service's own command line, as systemd would start it.
	checkServiceStarts(t, root)

	// The same version again: prerm upgrade, then postinst configure with
	// the old version. The user's rule stays.
	mustInRoot(t, root, "dpkg -i /tmp/pkg.deb")
	if out := mustInRoot(t, root, "ufw-docker-bridge list"); !strings.Contains(out, "allow 8080") {
		t.Errorf("the rule did not survive the upgrade:\n%s", out)
	}
	expect(t, "after the upgrade", map[probe]bool{web: true, api: false})

	mustInRoot(t, root, "dpkg -r ufw-docker-bridge")
	after := readFiles(t, root)
	for _, f := range ufwFiles {
		if after[f] != before[f] {
			t.Errorf("%s is not byte for byte what it was before the package", f)
		}
	}
	// Back to what the host was: published ports ignore UFW again.
	expect(t, "after dpkg -r", map[probe]bool{web: true, api: true, sshHost: true})
	if _, err := os.Stat(root + "/etc/ufw-docker-bridge/rules"); err != nil {
		t.Error("remove deleted the user's rules (only purge may)")
	}
	if err := exec.Command("nft", "list", "table", "inet", rules.GuardTable).Run(); err == nil {
		t.Error("remove left the guard table")
	}
	mustInRoot(t, root, "dpkg -P ufw-docker-bridge")
	for _, f := range []string{"/etc/ufw-docker-bridge", "/etc/default/ufw-docker-bridge", "/usr/sbin/ufw-docker-bridge",
		"/etc/fail2ban/action.d/ufw-docker-bridge.conf"} {
		if _, err := os.Stat(root + f); err == nil {
			t.Errorf("purge left %s", f)
		}
	}

	// A host without UFW: a note, no failure, nothing changed.
	bare := overlayRoot(t, "dpkg-noufw")
	mustSh(t, "cp "+deb+" "+bare+"/tmp/pkg.deb && rm "+bare+"/usr/sbin/ufw")
	live := liveSave(t)
	out = mustInRoot(t, bare, "dpkg -i /tmp/pkg.deb")
	t.Logf("%s", out)
	if !strings.Contains(out, "note:") || !strings.Contains(out, "nothing was changed") {
		t.Errorf("postinst on a host without UFW:\n%s", out)
	}
	if liveSave(t) != live || strings.Contains(readFiles(t, bare)["after.rules"], rules.MarkerBegin) {
		t.Error("postinst changed the firewall of a host without UFW")
	}
	mustInRoot(t, bare, "dpkg -P ufw-docker-bridge")
}

// checkServiceStarts runs the ExecStart of the installed unit, with the
// environment file, in the chroot, and waits for READY=1, then stops it
// with SIGTERM as systemd would.
func checkServiceStarts(t testing.TB, root string) {
	t.Helper()
	unit, err := os.ReadFile(root + "/lib/systemd/system/ufw-docker-bridge.service")
	if err != nil {
		t.Fatal(err)
	}
	var execStart string
	for _, l := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			execStart = v
		}
	}
	if !strings.Contains(string(unit), "Type=notify") || execStart == "" {
		t.Fatalf("the unit is not Type=notify with an ExecStart:\n%s", unit)
	}
	// In /run, which the chroot shares with the lab.
	sock, notes := notifySocketAt(t, "/run/udb-notify.sock")
	cmd := exec.Command("env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET="+sock, "chroot", root, "sh", "-c",
		". /etc/default/ufw-docker-bridge && exec "+execStart)
	var logb strings.Builder
	cmd.Stdout, cmd.Stderr = &logb, &logb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitNotify(t, notes, "READY=1")
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the service's command exited with %v on SIGTERM:\n%s", err, logb.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Errorf("the service's command did not stop on SIGTERM")
	}
	t.Logf("service command %q: READY=1, clean stop on SIGTERM", execStart)
}

// buildDeb builds the package into the lab's directory and returns its path.
func buildDeb(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(mustSh(t, "cd ../.. && DEB_OUT="+filepath.Join(dir, "deb")+" ./scripts/build-deb.sh"))
}

// TestDebPackageFirewalldStopped: the package next to firewalld, removed
// while firewalld is stopped: dpkg -r leaves /etc/firewalld as it was before
// the package and no table of ours (published ports as Docker alone
// decides), firewalld's next start loads no zone or policy of ours, and
// dpkg -P leaves nothing of ours on disk.
func TestDebPackageFirewalldStopped(t *testing.T) {
	fresh(t)
	fw := startFirewalldLab(t)
	deb := buildDeb(t)
	root := overlayRoot(t, "dpkg-firewalld")
	// firewalld (outside the chroot) and the package (inside) share the
	// lab's /etc/firewalld.
	mustSh(t, "mount --bind /etc/firewalld "+root+"/etc/firewalld && cp "+deb+" "+root+"/tmp/pkg.deb")
	pristine := treeOf(t, "/etc/firewalld")

	out := mustInRoot(t, root, "dpkg -i /tmp/pkg.deb")
	t.Logf("%s", out)
	if _, err := os.Stat(root + "/etc/ufw-docker-bridge/firewalld.rules"); err != nil {
		t.Fatalf("postinst did not install next to firewalld: %v", err)
	}
	expect(t, "after dpkg -i next to firewalld", map[probe]bool{web: false, api: false})
	if len(treeDiff(t, "/etc/firewalld", pristine)) == 0 {
		t.Fatal("the package wrote no zone or policy: nothing to remove")
	}

	fw.Stop()
	out = mustInRoot(t, root, "dpkg -r ufw-docker-bridge")
	t.Logf("(firewalld stopped) %s", out)
	if strings.Contains(out, "run it again: ufw-docker-bridge") {
		t.Errorf("prerm names a command dpkg is deleting:\n%s", out)
	}
	if diff := treeDiff(t, "/etc/firewalld", pristine); len(diff) > 0 {
		t.Errorf("/etc/firewalld after dpkg -r with firewalld stopped: %v", diff)
	}
	if tables := mustSh(t, "nft list tables"); strings.Contains(tables, "ufw-docker-bridge") {
		t.Errorf("a table of ours outlived dpkg -r:\n%s", tables)
	}
	// firewalld's stop flushed Docker's DNAT: docker-proxy answers through
	// INPUT, which nothing filters now; nothing of ours may stop it.
	expect(t, "after dpkg -r, firewalld stopped: as Docker alone decides", map[probe]bool{web: true, api: true})
	mustInRoot(t, root, "dpkg -P ufw-docker-bridge")
	for _, f := range []string{"/etc/ufw-docker-bridge", "/etc/default/ufw-docker-bridge", "/usr/sbin/ufw-docker-bridge",
		"/etc/firewalld/zones/" + rules.FirewalldZone + ".xml", "/etc/firewalld/policies/" + rules.FirewalldPolicy + ".xml"} {
		if _, err := os.Stat(root + f); err == nil {
			t.Errorf("purge left %s", f)
		}
	}
	fw.Start(t)
	if out := mustSh(t, "firewall-cmd --get-zones; firewall-cmd --get-policies"); strings.Contains(out, "udb-") {
		t.Errorf("firewalld's next start loaded a zone or policy of ours: %s", out)
	}

	// firewalld gone without its cleanup (killed, or CleanupOnExit=no)
	// and no system bus either: its rules and ours stay in the kernel.
	// dpkg -r takes ours out, or says exactly what remains and how it goes.
	mustInRoot(t, root, "dpkg -i /tmp/pkg.deb")
	if err := fw.d.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	fw.Stop()
	if !strings.Contains(mustSh(t, "iptables-save"), rules.ChainForward) {
		t.Fatalf("a killed firewalld took our chains with it: the step shows nothing")
	}
	out = mustInRoot(t, root, "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/udb-no-bus dpkg -r ufw-docker-bridge")
	t.Logf("(firewalld killed, no bus) %s", out)
	left := ""
	if save := mustSh(t, "iptables-save; ip6tables-save"); strings.Contains(save, "ufw-docker-bridge") {
		left += save
	}
	if tables := mustSh(t, "nft list tables"); strings.Contains(tables, "ufw-docker-bridge") {
		left += tables
	}
	if left != "" && !strings.Contains(out, "remains") {
		t.Errorf("dpkg -r next to a killed firewalld left rules of ours and did not say so:\n%s\n%s", out, left)
	}
	if diff := treeDiff(t, "/etc/firewalld", pristine); len(diff) > 0 {
		t.Errorf("/etc/firewalld after dpkg -r with firewalld killed: %v", diff)
	}
	mustInRoot(t, root, "dpkg -P ufw-docker-bridge")
	fw.Start(t)
}

// TestDebTriggerHealsUFWUpgrade: ufw's own package upgraded over ours,
// taking the maintainer's version of its files (ucf, as "install the
// package maintainer's version" does): after.rules loses our block. Our
// dpkg file trigger runs sync once ufw is configured: the block is back,
// and the live policy holds, without the watcher and without a reboot.
func TestDebTriggerHealsUFWUpgrade(t *testing.T) {
	fresh(t)
	ufwDebs, _ := filepath.Glob(filepath.Join(persistentDebs, "ufw_*.deb"))
	if len(ufwDebs) == 0 {
		if os.Getenv(lab.RequireEnv) == "1" {
			t.Fatalf("no ufw package in %s (make deps downloads it)", persistentDebs)
		}
		t.Skipf("no ufw package in %s", persistentDebs)
	}
	deb := buildDeb(t)
	root := overlayRoot(t, "dpkg-trigger")
	mustSh(t, "cp "+deb+" "+root+"/tmp/pkg.deb && cp "+ufwDebs[0]+" "+root+"/tmp/ufw.deb")
	defer inRoot(root, "dpkg -P ufw-docker-bridge")
	mustInRoot(t, root, "dpkg -i /tmp/pkg.deb && ufw-docker-bridge allow 8080 && ufw-docker-bridge deny from "+deniedAddr)
	expect(t, "after dpkg -i, allow 8080, deny from "+deniedAddr, map[probe]bool{web: true, webDeny: false, api: false})

	// ucf offers the maintainer's version only when it changed since the
	// last install, as it does in an upgrade that touches after.rules:
	// forget the hash of the last one.
	mustInRoot(t, root, `sed -i 's|^[0-9a-f]*  /etc/ufw/after.rules$|00000000000000000000000000000000  /etc/ufw/after.rules|' /var/lib/ucf/hashfile`)
	out := mustInRoot(t, root, "UCF_FORCE_CONFFNEW=1 dpkg -i /tmp/ufw.deb 2>&1")
	t.Logf("%s", out)
	if !strings.Contains(out, "Processing triggers for ufw-docker-bridge") {
		t.Errorf("upgrading ufw did not trigger us:\n%s", out)
	}
	if !strings.Contains(out, "our block was missing from /etc/ufw/after.rules") {
		t.Errorf("the trigger's sync does not say it wrote the block again:\n%s", out)
	}
	if !strings.Contains(readFiles(t, root)["after.rules"], rules.MarkerBegin) {
		t.Fatal("after.rules has no block after ufw's upgrade")
	}
	// What UFW's next boot loads: the files alone.
	mustInRoot(t, root, "ufw reload")
	expect(t, "after ufw's upgrade and a ufw reload", map[probe]bool{web: true, webDeny: false, api: false})
}
