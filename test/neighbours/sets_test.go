package neighbours

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/engine"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// TestAddressSets: a deny set keeps its sources away from allowed
// published ports (and, with --host-too, from the host's own port 8000);
// an allow set opens a port to its sources only; a loaded block list of
// 10,000 networks works like a set of one; a timed entry leaves by itself;
// the sets survive ufw reload and come back after their table is deleted,
// and while it is gone nothing of what they guard opens. Bad input
// changes nothing.
func TestAddressSets(t *testing.T) {
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	type want struct{ client, banned, office, listed, officeAdmin, clientAdmin, bannedHost bool }
	matrix := func(t *testing.T, title string, w want) {
		t.Helper()
		lab.Matrix(t, title, []lab.Cell{
			{Name: "web 8080 from " + clientAddr, Got: open(clientAddr, 8080, "web"), Want: w.client},
			{Name: "web 8080 from " + banned + " (deny @bad)", Got: open(banned, 8080, "web"), Want: w.banned},
			{Name: "web 8080 from " + listed + " (deny @blocklist)", Got: open(listed, 8080, "web"), Want: w.listed},
			{Name: "admin 9443 from " + office + " (allow @office)", Got: open(office, 9443, "admin"), Want: w.officeAdmin},
			{Name: "admin 9443 from " + clientAddr, Got: open(clientAddr, 9443, "admin"), Want: w.clientAdmin},
			{Name: "host 8000 from " + banned + " (--host-too)", Got: open(banned, 8000, "host"), Want: w.bannedHost},
			{Name: "web 8080 from " + office, Got: open(office, 8080, "web"), Want: w.office},
		})
	}
	fresh(t)
	step("deny and allow sets decide", func(t *testing.T) {
		mustBin(t, "install")
		mustBin(t, "allow", "8080")
		matrix(t, "allow 8080, no set", want{client: true, banned: true, office: true, listed: true, bannedHost: true})
		mustBin(t, "set", "add", "bad", banned)
		mustBin(t, "deny", "from", "@bad", "--host-too")
		mustBin(t, "set", "add", "office", office+"/32", "198.51.100.0/24")
		mustBin(t, "allow", "9443/tcp", "from", "@office")
		matrix(t, "deny from @bad --host-too, allow 9443/tcp from @office", want{client: true, office: true, listed: true, officeAdmin: true})
		// A set allow by name marks the host port Docker publishes for
		// the container, nothing else: its sources do not reach the port
		// another set's allow opens.
		mustBin(t, "set", "add", "partners", clientAddr)
		mustBin(t, "allow", "to", "web", "from", "@partners")
		matrix(t, "and allow to web from @partners ("+clientAddr+")", want{client: true, office: true, listed: true, officeAdmin: true})
		mustBin(t, "delete", "allow", "to", "web", "from", "@partners")
		mustBin(t, "set", "del", "partners")
		out := mustBin(t, "explain", "--from", banned, "--to", hostAddr+":8080")
		if !strings.Contains(out, "DROP") || !strings.Contains(out, rules.SetsTable) || !strings.Contains(out, "deny from @bad") {
			t.Errorf("explain does not name the set rule:\n%s", out)
		}
		if out := mustBin(t, "list"); !strings.Contains(out, "deny from @bad --host-too") || !strings.Contains(out, "allow 9443/tcp from @office") {
			t.Errorf("list:\n%s", out)
		}
	})
	step("a block list of 10,000 networks, loaded at once", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("; Spamhaus DROP-like list\n")
		for i := 0; i < 10000; i++ {
			fmt.Fprintf(&b, "10.%d.%d.0/24 ; SBL%d\n", i/256, i%256, i)
		}
		fmt.Fprintf(&b, "%s/32\n", listed)
		list := filepath.Join(dir, "drop.txt")
		if err := os.WriteFile(list, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		mustBin(t, "set", "load", "blocklist", list)
		mustBin(t, "deny", "from", "@blocklist")
		matrix(t, "deny from @blocklist (10,001 entries)", want{client: true, office: true, officeAdmin: true})
		if out := mustBin(t, "set", "list"); !strings.Contains(out, "blocklist: 10001 entries, used by ") || !strings.Contains(out, ": deny from @blocklist") {
			t.Errorf("set list:\n%s", out)
		}
		// 200,000 single addresses, none adjacent: the kernel acknowledges
		// each message of the load, which once overflowed the socket.
		var big strings.Builder
		for i := 0; i < 200000; i++ {
			fmt.Fprintf(&big, "100.%d.%d.%d\n", 64+i>>15, i>>7&0xff, i<<1&0xff)
		}
		fmt.Fprintf(&big, "%s\n", listed)
		bigList := filepath.Join(dir, "big.txt")
		if err := os.WriteFile(bigList, []byte(big.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		if out := mustBin(t, "set", "load", "blocklist", bigList, "--json"); !strings.Contains(out, `"entries": 200001`) {
			t.Errorf("set load of 200,001 addresses:\n%s", out)
		}
		matrix(t, "deny from @blocklist (200,001 addresses)", want{client: true, office: true, officeAdmin: true})
		mustBin(t, "set", "load", "blocklist", list)
	})
	step("a timed entry leaves by itself", func(t *testing.T) {
		mustBin(t, "set", "add", "bad", timed, "--timeout", "3s")
		if open(timed, 8080, "web") {
			t.Error("the timed entry does not keep its source out")
		}
		if err := lab.WaitFor(8*time.Second, func() error {
			if !open(timed, 8080, "web") {
				return errNotYet
			}
			return nil
		}); err != nil {
			t.Error("the timed entry did not leave")
		}
	})
	step("ufw reload and a deleted table: the sets hold, fail closed", func(t *testing.T) {
		mustSh(t, "ufw reload")
		matrix(t, "after ufw reload", want{client: true, office: true, officeAdmin: true})
		if out := mustBin(t, "status"); !strings.Contains(out, "sets (nftables table inet "+rules.SetsTable+"): in place") ||
			!strings.Contains(out, "blocklist: 10001 entries") {
			t.Errorf("status:\n%s", out)
		}
		mustSh(t, "nft delete table inet "+rules.SetsTable)
		// Our chains drop what the table did not see: nothing opens, the
		// allowed ports close until the repair.
		matrix(t, "sets table deleted", want{bannedHost: true})
		if out := mustBin(t, "status"); !strings.Contains(out, "sets (nftables table inet "+rules.SetsTable+"): missing") {
			t.Errorf("status after the table was deleted:\n%s", out)
		}
		out := mustBin(t, "sync")
		if !strings.Contains(out, rules.SetsTable) {
			t.Errorf("sync does not say it made the sets table again:\n%s", out)
		}
		matrix(t, "after sync", want{client: true, office: true, officeAdmin: true})
		// The watcher makes it again by itself, elements and all.
		w := lab.StartWatcher(t, bin, dir, nil)
		defer w.Kill(t)
		mustSh(t, "nft delete table inet "+rules.SetsTable)
		if err := lab.WaitFor(5*time.Second, func() error {
			if !strings.Contains(mustSh(t, "nft list tables"), rules.SetsTable) {
				return errNotYet
			}
			return nil
		}); err != nil {
			t.Fatal("the watcher did not make the sets table again")
		}
		time.Sleep(200 * time.Millisecond)
		matrix(t, "after the watcher's repair", want{client: true, office: true, officeAdmin: true})
		w.Stop(t)
	})
	step("our tables edited by hand under their comments: repaired", func(t *testing.T) {
		// A deny taken out by hand keeps the table, its sets and the
		// version comment: before the listing was remembered, nothing saw it.
		// The chain flushed: nothing runs it to its end, nothing is marked
		// as consulted, our chains drop every NEW connection into the
		// bridges: closed, where it let the banned source in before.
		mustSh(t, "nft flush chain inet "+rules.SetsTable+" sources")
		matrix(t, "the sets' deny and allow rules flushed by hand", want{})
		if out := mustBin(t, "status"); !strings.Contains(out, "sets (nftables table inet "+rules.SetsTable+"): "+engine.GuardEdited) ||
			!strings.Contains(out, "guard (nftables table inet "+rules.GuardTable+"): in place") {
			t.Errorf("status does not name the hand edit (and only it):\n%s", out)
		}
		if out := mustBin(t, "sync"); !strings.Contains(out, rules.SetsTable) {
			t.Errorf("sync does not say it wrote the sets table again:\n%s", out)
		}
		matrix(t, "after sync", want{client: true, office: true, officeAdmin: true})
		if out := mustBin(t, "sync"); strings.Contains(out, rules.SetsTable) {
			t.Errorf("a second sync wrote the sets table again:\n%s", out)
		}
		// A deny set flushed by hand lacks its sentinel: what goes into
		// the bridges is dropped (the host's own ports follow the input
		// chain, which a flushed --host-too set opens until the repair).
		mustSh(t, "nft flush set inet "+rules.SetsTable+" bad-v4")
		matrix(t, "the deny set flushed by hand, no watcher", want{bannedHost: true})
		mustBin(t, "set", "del", "bad", banned)
		mustBin(t, "set", "add", "bad", banned)
		matrix(t, "the set written again by set del and set add", want{client: true, office: true, officeAdmin: true})
		w := lab.StartWatcher(t, bin, dir, nil)
		defer w.Kill(t)
		for _, edit := range []string{
			"nft flush chain inet " + rules.SetsTable + " sources",
			// The guard's check emptied: a packet our iptables rules did
			// not see would pass it.
			"nft flush chain inet " + rules.GuardTable + " check",
		} {
			mustSh(t, edit)
			if err := lab.WaitFor(5*time.Second, func() error {
				if out := mustBin(t, "status"); strings.Contains(out, engine.GuardEdited) {
					return errNotYet
				}
				return nil
			}); err != nil {
				t.Errorf("%s: the watcher did not write the table again:\n%s", edit, mustBin(t, "status"))
			}
			if !strings.Contains(mustSh(t, "nft list chain inet "+rules.GuardTable+" check"), "drop") {
				t.Errorf("%s: the guard's check chain has no drop", edit)
			}
			matrix(t, "after "+edit+" and the watcher's repair", want{client: true, office: true, officeAdmin: true})
		}
		// A set's elements changed by hand change no table listing: the
		// watcher reads who changed them from the kernel's messages. Our
		// own commands meanwhile are not taken for someone else.
		mustBin(t, "set", "add", "bad", "198.51.100.99")
		for i, edit := range []string{
			"nft flush set inet " + rules.SetsTable + " bad-v4",
			"nft delete element inet " + rules.SetsTable + " bad-v4 { " + banned + " }",
		} {
			mustSh(t, edit)
			if err := lab.WaitFor(5*time.Second, func() error {
				if strings.Count(mustSh(t, "cat "+w.Log), "set bad's elements changed by process") < i+1 {
					return errNotYet
				}
				return nil
			}); err != nil {
				t.Errorf("%s: the watcher did not load the set again:\n%s", edit, mustSh(t, "tail -5 "+w.Log))
			}
			matrix(t, "after "+edit+" and the watcher's repair", want{client: true, office: true, officeAdmin: true})
		}
		mustBin(t, "set", "del", "bad", "198.51.100.99")
		time.Sleep(time.Second)
		if log := mustSh(t, "cat "+w.Log); strings.Count(log, "elements changed by process") != 2 || !strings.Contains(log, "(nft)") {
			t.Errorf("want two reloads, for nft's two edits, and none for our set add|del:\n%s", log)
		}
		w.Stop(t)
	})
	step("bad input changes nothing", func(t *testing.T) {
		before := mustSh(t, "nft list table inet "+rules.SetsTable+" | wc -l")
		for _, args := range [][]string{
			{"set", "add", "bad", "not-an-address"},
			{"set", "add", "bad/x", banned},
			{"set", "add", "bad", banned, "--timeout", "0s"},
			{"set", "del", "bad"}, // in use
			{"set", "del", "nosuchset"},
			{"deny", "from", "@bad;x"},
			{"allow", "from", "@office"},
		} {
			out, code := binExit(args...)
			if code != 2 || strings.Count(strings.TrimSpace(out), "\n") > 0 {
				t.Errorf("%v: exit %d, want 2 and one line:\n%s", args, code, out)
			}
		}
		if after := mustSh(t, "nft list table inet "+rules.SetsTable+" | wc -l"); after != before {
			t.Errorf("the sets table changed: %s lines, then %s", before, after)
		}
		list := filepath.Join(dir, "bad.txt")
		os.WriteFile(list, []byte("192.0.2.1\nsomething\n"), 0o644)
		if out, code := binExit("set", "load", "bad", list); code != 2 || !strings.Contains(out, "line 2") {
			t.Errorf("a bad list: exit %d:\n%s", code, out)
		}
		// A list cut inside a prefix: refused with its line, not masked
		// into a quarter of the internet (the allow set would open to it).
		os.WriteFile(list, []byte(office+"\n203.0.113.192/2\n"), 0o644)
		if out, code := binExit("set", "load", "office", list); code != 2 || !strings.Contains(out, "line 2") || !strings.Contains(out, "host bits") {
			t.Errorf("a list cut inside a prefix: exit %d:\n%s", code, out)
		}
		// An empty list (a download that failed) does not empty a deny
		// set in use; --empty says to.
		os.WriteFile(list, nil, 0o644)
		if out, code := binExit("set", "load", "bad", list); code != 2 || !strings.Contains(out, "--empty") {
			t.Errorf("an empty list into a set in use: exit %d:\n%s", code, out)
		}
		if out, code := binExit("set", "add", "-x", banned); code != 2 || strings.Count(strings.TrimSpace(out), "\n") > 0 {
			t.Errorf("set add -x: exit %d, want 2 and one line:\n%s", code, out)
		}
		if after := mustSh(t, "nft list table inet "+rules.SetsTable+" | wc -l"); after != before {
			t.Errorf("the sets table changed: %s lines, then %s", before, after)
		}
		matrix(t, "after the bad input", want{client: true, office: true, officeAdmin: true})
		// A deny set's file lost, then its table: the table is not built
		// again with the set empty; sync fails and says which, and the
		// ports stay closed until the file is back.
		file := filepath.Join(dir, "state", "sets", "bad")
		mustSh(t, "mv "+file+" "+file+".away")
		mustSh(t, "nft delete table inet "+rules.SetsTable)
		if out, code := binExit("sync"); code != 1 || !strings.Contains(out, "is missing: it is not read as an empty set") {
			t.Errorf("sync with a deny set's file lost: exit %d\n%s", code, out)
		}
		matrix(t, "a deny set's file lost, its table deleted", want{bannedHost: true})
		mustSh(t, "mv "+file+".away "+file)
		mustBin(t, "sync")
		matrix(t, "the set's file back, after sync", want{client: true, office: true, officeAdmin: true})
	})
	step("unban, delete and uninstall", func(t *testing.T) {
		mustBin(t, "set", "del", "bad", banned)
		matrix(t, "set del bad "+banned, want{client: true, banned: true, office: true, officeAdmin: true, bannedHost: true})
		mustBin(t, "delete", "allow", "9443/tcp", "from", "@office")
		mustBin(t, "set", "del", "office")
		mustBin(t, "uninstall")
		if out := mustSh(t, "nft list tables"); strings.Contains(out, rules.SetsTable) {
			t.Errorf("the sets table outlived uninstall:\n%s", out)
		}
		if out := mustSh(t, "iptables-save -t filter"); strings.Contains(out, "0x2000000") || strings.Contains(out, "0x4000000") {
			t.Errorf("a mark of ours outlived uninstall:\n%s", out)
		}
	})
}
