package ipv6

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// TestIPv6Clients: published ports with IPv6 clients, on the UFW and the
// iptables backend. web (8080) is on Docker's default network, with IPv6:
// Docker DNATs in both families, and our ip6tables chains decide. p (8088)
// is on a network without IPv6: an IPv6 client reaches it only through
// docker-proxy in INPUT, which stays closed unless --host-too opens the
// host port (a UFW input rule alone does not: the guard's input chain
// keeps published ports to our policy).
func TestIPv6Clients(t *testing.T) {
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	matrix := func(t *testing.T, title string, web6, web6Denied, p6, web4 bool) {
		t.Helper()
		lab.Matrix(t, title, []lab.Cell{
			{Name: "web 8080 from " + client6, Got: open(client6, host6, 8080, "web"), Want: web6},
			{Name: "web 8080 from " + denied6, Got: open(denied6, host6, 8080, "web"), Want: web6Denied},
			{Name: "p(no IPv6) 8088 from " + client6 + " (docker-proxy)", Got: open(client6, host6, 8088, "p"), Want: p6},
			{Name: "web 8080 from " + clientAddr, Got: open(clientAddr, hostAddr, 8080, "web"), Want: web4},
		})
	}
	step("before install IPv6 reaches web; UFW's own rule opens docker-proxy", func(t *testing.T) {
		matrix(t, "before install", true, true, false, true)
		mustSh(t, "ufw allow 8088/tcp")
		matrix(t, "before install, ufw allow 8088/tcp", true, true, true, true)
		// doctor names the docker-proxy path: 8088 has no IPv6 DNAT, 8080 has.
		out, _ := exec.Command(bin, "doctor").CombinedOutput()
		t.Logf("$ ufw-docker-bridge doctor\n%s", out)
		if !regexp.MustCompile(`exposed-port-ipv6.*8088/tcp`).Match(out) || regexp.MustCompile(`exposed-port-ipv6.*8080/tcp`).Match(out) {
			t.Error("doctor does not name exactly 8088's IPv6 docker-proxy path")
		}
	})
	step("install closes both paths; ufw allow 8088 no longer opens docker-proxy", func(t *testing.T) {
		mustBin(t, "install")
		matrix(t, "installed (ufw allow 8088/tcp still there)", false, false, false, false)
	})
	step("allow and deny decide over IPv6", func(t *testing.T) {
		mustBin(t, "allow", "8080")
		mustBin(t, "deny", "from", denied6)
		mustBin(t, "allow", "8088")
		matrix(t, "allow 8080, allow 8088, deny from "+denied6, true, false, false, true)
		ports := func() (openTo string, by []string) {
			t.Helper()
			var r struct {
				Ports []struct {
					Address   string   `json:"address"`
					Port      int      `json:"port"`
					OpenTo    string   `json:"open_to"`
					DecidedBy []string `json:"decided_by"`
				} `json:"ports"`
			}
			if err := json.Unmarshal([]byte(mustBin(t, "status", "--ports", "--json")), &r); err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Ports {
				if p.Port == 8088 && strings.Contains(p.Address, ":") {
					return p.OpenTo, p.DecidedBy
				}
			}
			t.Fatalf("status --ports has no IPv6 line for 8088: %+v", r.Ports)
			return "", nil
		}
		// Its IPv6 path is docker-proxy's: only --host-too rules decide it.
		if who, by := ports(); who != "closed" {
			t.Errorf("status --ports: IPv6 8088 open to %q by %q, want closed (allow 8088 is not --host-too)", who, by)
		}
		mustBin(t, "allow", "8088", "--host-too")
		matrix(t, "allow 8088 --host-too", true, false, true, true)
		list := mustBin(t, "list")
		who, by := ports()
		n, rule, _ := strings.Cut(strings.Join(by, "; "), ": ")
		if who != "everyone" || len(by) != 1 || rule != "allow 8088 --host-too" || !strings.Contains(list, fmt.Sprintf("[%2s] %s\n", n, rule)) {
			t.Errorf("status --ports: IPv6 8088 open to %q by %q, want everyone by list's line of allow 8088 --host-too:\n%s", who, by, list)
		}
		mustSh(t, "ufw reload")
		matrix(t, "after ufw reload", true, false, true, true)
		// An address set holds IPv6 sources too: its IPv6 half decides.
		mustBin(t, "set", "add", "bad6", client6)
		mustBin(t, "deny", "from", "@bad6")
		matrix(t, "deny from @bad6 (holding "+client6+")", false, false, true, true)
		mustBin(t, "set", "del", "bad6", client6)
		matrix(t, "set del bad6 "+client6, true, false, true, true)
		mustBin(t, "delete", "deny", "from", "@bad6")
		mustBin(t, "set", "del", "bad6")
		mustBin(t, "delete", "allow", "8088", "--host-too")
		mustSh(t, "ufw delete allow 8088/tcp")
	})
	step("the iptables backend: docker-proxy closed to IPv6 where nothing else guards INPUT", func(t *testing.T) {
		mustBin(t, "uninstall")
		mustSh(t, "ufw disable")
		defer mustSh(t, "ufw --force enable")
		matrix(t, "uninstalled, UFW disabled", true, true, true, true)
		mustBin(t, "install", "--backend", "iptables")
		defer mustBin(t, "uninstall")
		matrix(t, "iptables backend", true, false, false, true)
	})
	step("next to firewalld: docker-proxy closed to IPv6 even where a zone opens the port", func(t *testing.T) {
		lab.Need(t, "firewalld", "firewall-cmd", "dbus-daemon")
		mustSh(t, "ufw disable")
		defer mustSh(t, "ufw --force enable")
		if _, err := os.Stat("/run/dbus/system_bus_socket"); err != nil {
			mustSh(t, "dbus-daemon --system --fork --nopidfile")
		}
		fw, err := lab.Start(filepath.Join(dir, "firewalld.out"), "firewalld", "--nofork", "--nopid",
			"--log-target", "file", "--log-file", filepath.Join(dir, "firewalld.log"))
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			fw.Stop(20 * time.Second)
			lab.Sh("nft delete table inet firewalld")
			dockerd.Restart(t)
		}()
		if err := lab.WaitFor(30*time.Second, func() error { _, err := lab.Sh("firewall-cmd --state"); return err }); err != nil {
			t.Fatal(err)
		}
		dockerd.Restart(t) // Docker uses firewalld only when it finds it at start
		mustSh(t, "firewall-cmd --add-port=8088/tcp")
		if err := lab.WaitFor(10*time.Second, func() error {
			if !open(client6, host6, 8088, "p") {
				return fmt.Errorf("8088 does not answer over IPv6 with the zone's port open")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		mustBin(t, "install", "--backend", "firewalld")
		defer mustBin(t, "uninstall")
		// install writes our zone and reloads firewalld, which flushes
		// every table; dockerd 20.10 puts back its IPv4 rules after the
		// reload but not those of ip6tables (measured here): only its
		// restart does.
		dockerd.Restart(t)
		mustBin(t, "sync")
		matrix(t, "firewalld backend (its zone opens 8088)", true, false, false, true)
	})
}
