package neighbours

import (
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// TestForwardToGuest is the seed matrix's "external -> VM ssh
// (forwarded)" row with a real LXD instance on LXD's own lxdbr0 (its DHCP
// lease from LXD's dnsmasq, its address from LXD's API): host port 2222 to
// the guest's port 22 from outside, from the host itself and from a
// container; a forward limited to one source; a deny winning over it; bad
// input refused; the watcher following the guest to a new address, closing
// the port while it is stopped and putting back a deleted NAT table; ufw
// reload; delete and uninstall closing it; explain agreeing with the
// packets; the watcher writing again a chain flushed by hand.
func TestForwardToGuest(t *testing.T) {
	lab.Need(t, "lxd", "lxc", "dnsmasq")
	fresh(t)
	lab.StartLXD(t)
	// Installed first: before, UFW's INPUT drops the guest's DHCP to LXD's
	// dnsmasq (TestGuestBridges shows it).
	mustBin(t, "install")
	defer binExit("uninstall")
	addr := lab.LaunchGuest(t, "udbvm")
	ssh := func(from string) bool { return open(from, 2222, "udbvm") }
	if ssh(clientAddr) {
		t.Fatal("port 2222 answers before any forward")
	}
	out := mustBin(t, "forward", "2222/tcp", "to", "udbvm:22")
	if !strings.Contains(out, "added: forward 2222/tcp to udbvm:22") {
		t.Errorf("forward:\n%s", out)
	}
	mustBin(t, "forward", "2223/tcp", "to", "lxd:udbvm:80", "from", office)
	mustBin(t, "deny", "from", banned)
	hostHairpin := func() bool {
		out, _ := lab.Sh("curl -s -m 2 http://" + hostAddr + ":2222/")
		return strings.TrimSpace(out) == "udbvm"
	}
	containerHairpin := func() bool {
		out, _ := lab.Sh(docker + " exec web timeout 2 wget -q -O - http://" + hostAddr + ":2222/")
		if strings.TrimSpace(out) != "udbvm" {
			dbg, _ := lab.Sh("conntrack -L -p tcp --orig-port-dst 2222 2>&1; iptables -L ufw-docker-bridge-guests -v -n")
			t.Log(out, dbg)
		}
		return strings.TrimSpace(out) == "udbvm"
	}
	lab.Matrix(t, "forward 2222/tcp to udbvm:22; 2223 to its 80 from office only; deny from banned", []lab.Cell{
		{Name: "external -> VM ssh (forwarded) from " + clientAddr, Got: ssh(clientAddr), Want: true},
		{Name: "external -> VM ssh (forwarded) from LAN " + lanAddr + " to " + hostLAN, Got: openAt(lanAddr, hostLAN, 2222, "udbvm"), Want: true},
		{Name: "external -> VM ssh from the denied " + banned, Got: ssh(banned), Want: false},
		{Name: "external -> VM 2223 from office " + office, Got: open(office, 2223, "udbvm"), Want: true},
		{Name: "external -> VM 2223 from " + clientAddr, Got: open(clientAddr, 2223, "udbvm"), Want: false},
		{Name: "external -> VM directly at " + addr + " (not forwarded)", Got: openAt(clientAddr, addr, 80, "udbvm"), Want: false},
		{Name: "host -> its own " + hostAddr + ":2222 (hairpin)", Got: hostHairpin(), Want: true},
		{Name: "container web -> " + hostAddr + ":2222 (hairpin)", Got: containerHairpin(), Want: true},
		{Name: "published web 8080, no allow rule", Got: open(clientAddr, 8080, "web"), Want: false},
	})
	t.Run("status --ports shows each forward and who it is open to", func(t *testing.T) {
		out := mustBin(t, "status", "--ports")
		for _, want := range []string{"0.0.0.0:2222/tcp", "-> guest udbvm " + addr + ":22", "everyone except " + banned,
			"0.0.0.0:2223/tcp", "-> guest lxd:udbvm " + addr + ":80", office} {
			if !strings.Contains(out, want) {
				t.Errorf("status --ports lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("explain walks the forwards as they are live", func(t *testing.T) {
		for _, c := range []struct {
			from, to, verdict, dnat string
		}{
			{clientAddr, hostAddr + ":2222", "ACCEPT", addr + ":22"},
			{office, hostAddr + ":2223", "ACCEPT", addr + ":80"},
			{clientAddr, hostAddr + ":2223", "DROP", ""}, // not its source: the host's own closed port
			{banned, hostAddr + ":2222", "DROP", addr + ":22"},
		} {
			out := mustBin(t, "explain", "--from", c.from, "--to", c.to)
			if !strings.Contains(out, ": "+c.verdict+"\n") || (c.dnat != "") != strings.Contains(out, "DNAT to "+c.dnat) ||
				(c.dnat != "") != strings.Contains(out, "inet ufw-docker-bridge-nat prerouting") {
				t.Errorf("explain %s -> %s: want %s, DNAT to %q:\n%s", c.from, c.to, c.verdict, c.dnat, out)
			}
		}
	})
	t.Run("bad input is refused and changes nothing", func(t *testing.T) {
		before := mustSh(t, "cat "+dir+"/state/rules 2>/dev/null; nft list table inet ufw-docker-bridge-nat")
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"forward", "8080", "to", "udbvm:80"}, "published by container web"},
			{[]string{"forward", "2222", "to", "udbvm:80"}, "forwarded already"},
			{[]string{"forward", "2224", "to", "udbvm:22:23"}, "invalid port"},
			{[]string{"forward", "2224:2225", "to", "udbvm"}, "one host port"},
			{[]string{"forward", "2224", "to", "udbvm", "from", "@office"}, "not a set"},
		} {
			out, code := binExit(c.args...)
			if code != 2 || !strings.Contains(out, c.want) || strings.Count(strings.TrimSpace(out), "\n") > 0 {
				t.Errorf("%v: exit %d, %q; want exit 2 and one line naming %q", c.args, code, out, c.want)
			}
		}
		if after := mustSh(t, "cat "+dir+"/state/rules 2>/dev/null; nft list table inet ufw-docker-bridge-nat"); after != before {
			t.Errorf("a refused forward changed the rules or the NAT table:\n%s\n---\n%s", before, after)
		}
		out := mustBin(t, "forward", "2230", "to", "nosuch")
		if !strings.Contains(out, "opens nothing until the guest is found") || !strings.Contains(out, "added: forward 2230 to nosuch") {
			t.Errorf("forward to a guest that is not there:\n%s", out)
		}
		if open(clientAddr, 2230, "udbvm") {
			t.Error("a forward to a missing guest opened something")
		}
		mustBin(t, "delete", "forward", "2230", "to", "nosuch")
	})
	t.Run("a guest cannot steer its forward to a neighbour's address", func(t *testing.T) {
		// The neighbour serves its own name on 22; udbvm puts the
		// neighbour's address on its own interface, which LXD's instance
		// state then reports: the forward stays on what LXD leased to
		// udbvm's NIC.
		nb := lab.LaunchGuest(t, "udbnb")
		defer lab.Sh("lxc delete --force udbnb")
		mustSh(t, "lxc exec udbvm -- ip addr add "+nb+"/32 dev eth0")
		defer lab.Sh("lxc exec udbvm -- ip addr del " + nb + "/32 dev eth0")
		if state := mustSh(t, "lxc query /1.0/instances/udbvm/state"); !strings.Contains(state, nb) {
			t.Fatalf("LXD does not report the address udbvm put on itself; the test shows nothing:\n%s", state)
		}
		mustBin(t, "sync")
		if nat := mustSh(t, "nft list table inet ufw-docker-bridge-nat"); strings.Contains(nat, " "+nb+":") || !strings.Contains(nat, " "+addr+":22") {
			t.Errorf("the forward follows an address the guest gave itself (%s):\n%s", nb, nat)
		}
		lab.Matrix(t, "udbvm claims its neighbour's "+nb, []lab.Cell{
			{Name: "2222 answers udbvm", Got: ssh(clientAddr), Want: true},
			{Name: "2222 answers the neighbour udbnb", Got: open(clientAddr, 2222, "udbnb"), Want: false},
		})
	})
	if out := mustBin(t, "list"); !strings.Contains(out, "forward 2222/tcp to udbvm:22") || !strings.Contains(out, "forward 2223/tcp to lxd:udbvm:80 from "+office) {
		t.Errorf("list:\n%s", out)
	}
	mustSh(t, "ufw reload")
	if !ssh(clientAddr) {
		t.Error("ufw reload closed the forward")
	}

	w := lab.StartWatcher(t, bin, dir, nil)
	defer w.Kill(t)
	wait := func(what string, want bool) {
		t.Helper()
		start := time.Now()
		if err := lab.WaitFor(20*time.Second, func() error {
			if ssh(clientAddr) != want {
				return errNotYet
			}
			return nil
		}); err != nil {
			t.Errorf("%s: 2222 open = %v after 20 s, want %v\n%s", what, !want, want, mustSh(t, "tail -20 "+w.Log))
			return
		}
		t.Logf("%s: 2222 open = %v after %v", what, want, time.Since(start).Round(time.Millisecond))
	}
	mustSh(t, "nft delete table inet ufw-docker-bridge-nat")
	wait("our NAT table deleted", true)
	// A flushed chain keeps the table and its version comment.
	mustSh(t, "nft flush chain inet ufw-docker-bridge-nat prerouting")
	wait("our NAT table's prerouting chain flushed", true)
	mustSh(t, "lxc stop --force udbvm")
	wait("guest stopped", false)
	// The guest made again under its name: a new MAC address, so LXD's
	// dnsmasq leases it another address, as a re-created VM would get.
	mustSh(t, "lxc delete udbvm")
	moved := lab.LaunchGuest(t, "udbvm")
	if moved == addr {
		t.Fatalf("the re-created guest got its old address %s again: nothing moved", addr)
	}
	wait("guest back on "+moved, true)
	if nat := mustSh(t, "nft list table inet ufw-docker-bridge-nat"); strings.Contains(nat, addr+":") || !strings.Contains(nat, moved+":22") {
		t.Errorf("after the move the DNAT does not go to %s alone:\n%s", moved, nat)
	}
	if !hostHairpin() || !containerHairpin() {
		t.Error("hairpin from the host or a container lost after the move")
	}
	w.Stop(t)

	mustBin(t, "delete", "forward", "2222/tcp", "to", "udbvm:22")
	if ssh(clientAddr) {
		t.Error("2222 still open after delete")
	}
	if !open(office, 2223, "udbvm") {
		t.Error("deleting one forward closed the other")
	}
	mustBin(t, "uninstall")
	if out := mustSh(t, "nft list tables"); strings.Contains(out, "ufw-docker-bridge-nat") {
		t.Errorf("our NAT table survived uninstall:\n%s", out)
	}
	if open(office, 2223, "udbvm") {
		t.Error("2223 open after uninstall")
	}
	t.Log(mustSh(t, "lxc list -c ns4 --format csv"))
}
