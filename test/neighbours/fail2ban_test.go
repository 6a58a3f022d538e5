package neighbours

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

const jail = "udb-web"

// startFail2ban runs the real fail2ban-server in the lab, on a private
// copy of /etc/fail2ban with our shipped action (its binary path pointed at
// the lab's), a jail that bans on "auth failure from <HOST>" lines of a
// log of the lab's, and its socket and database in the lab's directory.
func startFail2ban(t testing.TB) *lab.Daemon {
	t.Helper()
	lab.Need(t, "fail2ban-server", "fail2ban-client")
	etc := filepath.Join(dir, "etc-fail2ban")
	if _, err := os.Stat(etc); err != nil {
		mustSh(t, "cp -a /etc/fail2ban "+etc+" && mount --bind "+etc+" /etc/fail2ban")
	}
	action, err := os.ReadFile("../../hooks/fail2ban/ufw-docker-bridge.conf")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"action.d/ufw-docker-bridge.conf": strings.ReplaceAll(string(action), "/usr/sbin/ufw-docker-bridge", bin),
		"filter.d/" + jail + ".conf":      "[Definition]\nfailregex = auth failure from <HOST>$\n",
		"fail2ban.local": "[Definition]\nlogtarget = " + filepath.Join(dir, "f2b.log") + "\nsocket = " + filepath.Join(dir, "f2b.sock") +
			"\npidfile = " + filepath.Join(dir, "f2b.pid") + "\ndbfile = " + filepath.Join(dir, "f2b.sqlite3") + "\n",
		// The jail.local README shows: our action for every jail.
		// Debian's jail.d enables sshd, whose log the lab has not.
		"jail.local": "[DEFAULT]\nbanaction = ufw-docker-bridge\n\n[sshd]\nenabled = false\n\n[" + jail + "]\nenabled = true\nbackend = polling\nlogpath = " +
			filepath.Join(dir, "web-auth.log") + "\nmaxretry = 3\nfindtime = 10m\nbantime = 1h\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join("/etc/fail2ban", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "web-auth.log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := lab.Start(filepath.Join(dir, "f2b-server.out"), "fail2ban-server", "-xf", "-s", filepath.Join(dir, "f2b.sock"), "start")
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.WaitFor(20*time.Second, func() error {
		_, err := f2b("status", jail)
		return err
	}); err != nil {
		d.Stop(5 * time.Second)
		log, _ := os.ReadFile(filepath.Join(dir, "f2b.log"))
		t.Fatalf("fail2ban did not start its jail: %v\n%s", err, log)
	}
	return d
}

// f2b runs fail2ban-client on the lab's socket.
func f2b(args ...string) (string, error) {
	out, err := exec.Command("fail2ban-client", append([]string{"-s", filepath.Join(dir, "f2b.sock")}, args...)...).CombinedOutput()
	return string(out), err
}

func mustF2b(t *testing.T, args ...string) string {
	t.Helper()
	out, err := f2b(args...)
	if err != nil {
		t.Fatalf("fail2ban-client %v: %v\n%s", args, err, out)
	}
	return out
}

// TestFail2ban: the real Debian fail2ban with banaction = ufw-docker-bridge.
// A ban (by fail2ban-client, or by failures in the jail's log) closes an
// allowed published port and the host's own port to that address only; an
// unban opens them again; bans survive our sync and a ufw reload; a
// fail2ban restart empties the set and puts its bans back.
func TestFail2ban(t *testing.T) {
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	matrix := func(t *testing.T, title string, bannedOpen bool) {
		t.Helper()
		lab.Matrix(t, title, []lab.Cell{
			{Name: "web 8080 from " + clientAddr, Got: open(clientAddr, 8080, "web"), Want: true},
			{Name: "host 8000 from " + clientAddr, Got: open(clientAddr, 8000, "host"), Want: true},
			{Name: "web 8080 from " + f2bBanned, Got: open(f2bBanned, 8080, "web"), Want: bannedOpen},
			{Name: "host 8000 from " + f2bBanned, Got: open(f2bBanned, 8000, "host"), Want: bannedOpen},
		})
	}
	fresh(t)
	mustBin(t, "install")
	mustBin(t, "allow", "8080")
	d := startFail2ban(t)
	defer func() {
		f2b("stop")
		d.Stop(10 * time.Second)
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "f2b.log"))
			t.Logf("fail2ban's log:\n%s", log)
		}
	}()
	// The watcher beside: the action's set add|del are ours, never taken
	// for an edit by hand of the set's elements.
	w := lab.StartWatcher(t, bin, dir, nil)
	defer func() {
		if log := mustSh(t, "cat "+w.Log); strings.Contains(log, "elements changed by") {
			t.Errorf("the watcher took a ban or an unban of ours for an edit by hand:\n%s", log)
		}
		w.Kill(t)
	}()
	set := "f2b-" + jail
	step("banip closes the published port and the host to that address only", func(t *testing.T) {
		matrix(t, "fail2ban started, no ban", true)
		mustF2b(t, "set", jail, "banip", f2bBanned)
		if out := mustBin(t, "set", "list", set); !strings.Contains(out, f2bBanned) {
			t.Errorf("the ban is not in set %s:\n%s", set, out)
		}
		if out := mustBin(t, "list"); !strings.Contains(out, "deny from @"+set+" --host-too --owner fail2ban") {
			t.Errorf("the jail's rule is missing:\n%s", out)
		}
		matrix(t, "banip "+f2bBanned, false)
	})
	step("bans survive sync and ufw reload", func(t *testing.T) {
		mustBin(t, "sync")
		mustSh(t, "ufw reload")
		mustBin(t, "allow", "9443")
		matrix(t, "after sync, ufw reload and an allow", false)
	})
	step("apply of the admin's policy and restore of one from before the jail keep the jail's rule", func(t *testing.T) {
		policy := filepath.Join(dir, "f2b-policy.rules")
		if err := os.WriteFile(policy, []byte("# format: 2\nallow 8080\n# end of rules\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, code := binExit("apply", policy, "--check", "--json")
		var res struct{ Kept []string }
		if code != 3 || json.Unmarshal([]byte(out), &res) != nil || len(res.Kept) != 1 || !strings.Contains(res.Kept[0], "@"+set) {
			t.Errorf("apply --check does not show the jail's rule kept: exit %d\n%s", code, out)
		}
		if out, code := binExit("apply", policy); code != 3 || !strings.Contains(out, "kept (a tool's rule, not the policy's): deny from @"+set) {
			t.Errorf("apply: exit %d\n%s", code, out)
		}
		matrix(t, "after apply of a policy without the jail's rule", false)
		// A ban after the apply lands in a set a rule still uses.
		mustF2b(t, "set", jail, "unbanip", f2bBanned)
		mustF2b(t, "set", jail, "banip", f2bBanned)
		matrix(t, "banned again after the apply", false)
		var hist []struct {
			Number int
			Rules  []string
		}
		if err := json.Unmarshal([]byte(mustBin(t, "history", "--json")), &hist); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range hist {
			if len(e.Rules) == 1 && e.Rules[0] == "allow 8080" && n == 0 {
				n = e.Number
			}
		}
		if n == 0 {
			t.Fatalf("no rule set of only allow 8080 in the history: %+v", hist)
		}
		mustBin(t, "restore", strconv.Itoa(n))
		if out := mustBin(t, "list"); !strings.Contains(out, "deny from @"+set+" --host-too --owner fail2ban") {
			t.Errorf("restore of a rule set from before the jail took its rule:\n%s", out)
		}
		mustF2b(t, "set", jail, "unbanip", f2bBanned)
		mustF2b(t, "set", jail, "banip", f2bBanned)
		matrix(t, "banned again after a restore from before the jail", false)
		mustBin(t, "allow", "9443")
	})
	step("unbanip opens again", func(t *testing.T) {
		mustF2b(t, "set", jail, "unbanip", f2bBanned)
		matrix(t, "unbanip "+f2bBanned, true)
	})
	step("three failures in the jail's log ban", func(t *testing.T) {
		f, err := os.OpenFile(filepath.Join(dir, "web-auth.log"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			f.WriteString(time.Now().Format("2006-01-02 15:04:05") + " auth failure from " + f2bBanned + "\n")
		}
		f.Close()
		if err := lab.WaitFor(15*time.Second, func() error {
			if open(f2bBanned, 8080, "web") {
				return errNotYet
			}
			return nil
		}); err != nil {
			t.Fatal("three failures in the log did not ban")
		}
		matrix(t, "banned by the jail's log", false)
	})
	step("fail2ban stops and starts again: the set empties, the ban comes back", func(t *testing.T) {
		mustF2b(t, "stop")
		d.Stop(10 * time.Second)
		matrix(t, "fail2ban stopped", true)
		if out := mustBin(t, "list"); !strings.Contains(out, "deny from @"+set) {
			t.Errorf("the jail's rule went with fail2ban's stop:\n%s", out)
		}
		d = startFail2ban(t)
		if err := lab.WaitFor(20*time.Second, func() error {
			if open(f2bBanned, 8080, "web") {
				return errNotYet
			}
			return nil
		}); err != nil {
			t.Fatal("fail2ban did not put its ban back when it started again")
		}
		matrix(t, "fail2ban started again", false)
		mustBin(t, "uninstall")
	})
}
