package neighbours

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// dockerUser returns DOCKER-USER's rules, one a line.
func dockerUser(t *testing.T) string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(mustSh(t, "iptables-save -t filter"), "\n") {
		if r, ok := strings.CutPrefix(l, "-A DOCKER-USER "); ok {
			out = append(out, r)
		}
	}
	return strings.Join(out, "\n")
}

// TestDockerUserNeighbours: the rules other tools and an admin put in
// DOCKER-USER stay there, in place and in order, through install, allow,
// sync, ufw reload, the watcher's repair of a clobber and uninstall, and
// keep working: a DROP above our jump and one below it keep their sources
// out of an allowed port. An ACCEPT above our jump opens nothing (the guard
// holds the port closed) and doctor names it.
func TestDockerUserNeighbours(t *testing.T) {
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	matrix := func(t *testing.T, title string, admin9443, bypass9999 bool) {
		t.Helper()
		lab.Matrix(t, title, []lab.Cell{
			{Name: "web 8080 from " + clientAddr, Got: open(clientAddr, 8080, "web"), Want: true},
			{Name: "web 8080 from " + adminDrop + " (DROP above our jump)", Got: open(adminDrop, 8080, "web"), Want: false},
			{Name: "web 8080 from " + belowDrop + " (DROP below our jump)", Got: open(belowDrop, 8080, "web"), Want: false},
			{Name: "admin 9443 from " + clientAddr, Got: open(clientAddr, 9443, "admin"), Want: admin9443},
			{Name: "closed 9999 from " + bypass + " (ACCEPT above our jump)", Got: open(bypass, 9999, "closed"), Want: bypass9999},
		})
	}
	fresh(t)
	var theirs string
	step("install keeps the rules that were there", func(t *testing.T) {
		// There before us: it ends up below our jump.
		mustSh(t, "iptables -I DOCKER-USER -s "+belowDrop+" -j DROP")
		mustBin(t, "install")
		mustBin(t, "allow", "8080")
		// A tool that inserts after us (fail2ban, CrowdSec): above our jump.
		mustSh(t, "iptables -I DOCKER-USER -s "+adminDrop+" -j DROP")
		theirs = dockerUser(t)
		want := "-s " + adminDrop + "/32 -j DROP\n-j " + rules.ChainUser + "\n-s " + belowDrop + "/32 -j DROP\n-j RETURN"
		if theirs != want {
			t.Fatalf("DOCKER-USER after install:\n%s\nwant\n%s", theirs, want)
		}
		matrix(t, "installed, allow 8080", false, false)
	})
	step("allow, sync and ufw reload leave them in place", func(t *testing.T) {
		mustBin(t, "allow", "9443")
		mustBin(t, "sync")
		mustSh(t, "ufw reload")
		if got := dockerUser(t); got != theirs {
			t.Errorf("DOCKER-USER:\n%s\nwant\n%s", got, theirs)
		}
		matrix(t, "allow 9443, sync, ufw reload", true, false)
	})
	step("the watcher repairs a clobber of ours and leaves theirs", func(t *testing.T) {
		w := lab.StartWatcher(t, bin, dir, nil)
		defer w.Kill(t)
		mustSh(t, "iptables -F "+rules.ChainUser+" && iptables -D DOCKER-USER -j "+rules.ChainUser)
		if err := lab.WaitFor(5*time.Second, func() error {
			if got := dockerUser(t); !strings.Contains(got, "-j "+rules.ChainUser) {
				return errNotYet
			}
			return nil
		}); err != nil {
			t.Fatalf("the watcher did not put our jump back: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
		got := dockerUser(t)
		if strings.Count(got, "-j "+rules.ChainUser) != 1 || others(got) != others(theirs) {
			t.Errorf("DOCKER-USER after the repair:\n%s\nwant ours once and theirs as\n%s", got, others(theirs))
		}
		matrix(t, "after the watcher's repair", true, false)
		w.Stop(t)
	})
	step("an ACCEPT above our jump opens nothing and doctor names it", func(t *testing.T) {
		mustSh(t, "iptables -I DOCKER-USER -s "+bypass+" -j ACCEPT")
		matrix(t, "an ACCEPT above our jump", true, false)
		out, _ := exec.Command(bin, "doctor").CombinedOutput()
		if !strings.Contains(string(out), "docker-user-bypass") || !strings.Contains(string(out), bypass) {
			t.Errorf("doctor does not name the ACCEPT:\n%s", out)
		}
		theirs = dockerUser(t)
	})
	step("uninstall takes our jump out, theirs stay", func(t *testing.T) {
		mustBin(t, "uninstall")
		if got, want := dockerUser(t), others(theirs); got != want {
			t.Errorf("DOCKER-USER after uninstall:\n%s\nwant\n%s", got, want)
		}
		// Without us, Docker's rules decide: their DROPs still keep theirs out.
		if open(adminDrop, 8080, "web") || open(belowDrop, 8080, "web") || !open(clientAddr, 8080, "web") {
			t.Error("after uninstall the others' rules no longer decide")
		}
		mustSh(t, "iptables -D DOCKER-USER -s "+bypass+" -j ACCEPT && iptables -D DOCKER-USER -s "+adminDrop+" -j DROP && iptables -D DOCKER-USER -s "+belowDrop+" -j DROP")
	})
}

// others is a DOCKER-USER listing without our jump.
func others(user string) string {
	var out []string
	for _, l := range strings.Split(user, "\n") {
		if l != "-j "+rules.ChainUser {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
