package neighbours

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// crowdBanned is the address the CrowdSec decisions ban.
const crowdBanned = "203.0.113.71"

// lapi is a stand-in for CrowdSec's local API, enough for the firewall
// bouncer: its decisions stream answers the bouncer's first call with a ban
// of crowdBanned, and later calls with nothing new. The bouncer is the real
// Debian package; only the API it asks is the test's (the crowdsec agent
// and its database are not needed to see the rules the bouncer writes).
func lapi(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	sent := false
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/decisions/stream" || r.Header.Get("X-Api-Key") != "lab" {
			http.Error(w, "unknown", http.StatusForbidden)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		body := map[string][]map[string]any{"new": {}, "deleted": {}}
		if !sent || r.URL.Query().Get("startup") == "true" {
			body["new"] = []map[string]any{{"duration": "4h", "id": 1, "origin": "cscli", "scenario": "manual",
				"scope": "Ip", "type": "ban", "value": crowdBanned}}
			sent = true
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// startBouncer runs the real crowdsec-firewall-bouncer in mode (iptables
// or nftables) with DOCKER-USER among its iptables chains, as CrowdSec's
// documentation for Docker hosts says, against the test's API.
func startBouncer(t *testing.T, mode, api string) *lab.Daemon {
	t.Helper()
	lab.Need(t, "crowdsec-firewall-bouncer", "ipset")
	conf := filepath.Join(dir, "cs-"+mode+".yaml")
	text := fmt.Sprintf(`mode: %s
pid_dir: %s/
update_frequency: 1s
daemonize: false
log_mode: stdout
log_level: info
api_url: %s
api_key: lab
disable_ipv6: false
deny_action: DROP
deny_log: false
supported_decisions_types:
  - ban
blacklists_ipv4: crowdsec-blacklists
blacklists_ipv6: crowdsec6-blacklists
ipset_type: nethash
iptables_chains:
  - INPUT
  - DOCKER-USER
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: crowdsec
    chain: crowdsec-chain
  ipv6:
    enabled: true
    set-only: false
    table: crowdsec6
    chain: crowdsec6-chain
pf:
  anchor_name: ""
prometheus:
  enabled: false
  listen_addr: 127.0.0.1
  listen_port: 60601
`, mode, dir, api)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := lab.Start(filepath.Join(dir, "cs-"+mode+".out"), "crowdsec-firewall-bouncer", "-c", conf)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestCrowdSec: the real CrowdSec firewall bouncer in both its shapes. In
// iptables mode with DOCKER-USER in its chains, its DROP lands above our
// jump and keeps the banned address away from an allowed published port,
// through our sync, a ufw reload and an allow; doctor finds nothing to
// say. In nftables mode (0.0.25 hooks input only) its table coexists with
// ours, the ban covers the host alone, and doctor says so.
func TestCrowdSec(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	mustBin(t, "allow", "8080")
	api := lapi(t)
	matrix := func(t *testing.T, title string, bannedOpen bool) {
		t.Helper()
		lab.Matrix(t, title, []lab.Cell{
			{Name: "web 8080 from " + clientAddr, Got: open(clientAddr, 8080, "web"), Want: true},
			{Name: "web 8080 from " + crowdBanned + " (CrowdSec ban)", Got: open(crowdBanned, 8080, "web"), Want: bannedOpen},
			{Name: "host 8000 from " + crowdBanned, Got: open(crowdBanned, 8000, "host"), Want: false},
		})
	}
	doctor := func() string {
		out, _ := exec.Command(bin, "doctor").CombinedOutput()
		return string(out)
	}
	t.Run("iptables mode with DOCKER-USER", func(t *testing.T) {
		d := startBouncer(t, "iptables", api)
		defer d.Stop(10 * time.Second)
		if err := lab.WaitFor(15*time.Second, func() error {
			if open(crowdBanned, 8080, "web") {
				return errNotYet
			}
			return nil
		}); err != nil {
			data, _ := os.ReadFile(filepath.Join(dir, "cs-iptables.out"))
			t.Fatalf("the bouncer's ban did not close 8080:\n%s\nDOCKER-USER:\n%s", data, dockerUser(t))
		}
		theirs := others(dockerUser(t))
		if !strings.Contains(theirs, "--match-set crowdsec-blacklists src -j DROP") {
			t.Fatalf("DOCKER-USER lacks the bouncer's rule:\n%s", dockerUser(t))
		}
		mustBin(t, "sync")
		mustSh(t, "ufw reload")
		mustBin(t, "allow", "9443")
		if got := others(dockerUser(t)); got != theirs {
			t.Errorf("the bouncer's rules after sync, ufw reload and allow:\n%s\nwant\n%s", got, theirs)
		}
		matrix(t, "CrowdSec bouncer, iptables mode, DOCKER-USER", false)
		if out := doctor(); strings.Contains(out, "bans-input-only") || strings.Contains(out, "docker-user-bypass") {
			t.Errorf("doctor:\n%s", out)
		}
	})
	// What the bouncer leaves when it stops is its own business; the
	// next shape starts without it.
	mustSh(t, `for ipt in iptables ip6tables; do v=""; [ $ipt = ip6tables ] && v=6
		for chain in INPUT DOCKER-USER; do
			while $ipt -D $chain -m set --match-set crowdsec${v}-blacklists src -j DROP 2>/dev/null; do :; done
		done
	done; ipset destroy crowdsec-blacklists 2>/dev/null; ipset destroy crowdsec6-blacklists 2>/dev/null; true`)
	t.Run("nftables mode", func(t *testing.T) {
		d := startBouncer(t, "nftables", api)
		defer d.Stop(10 * time.Second)
		if err := lab.WaitFor(15*time.Second, func() error {
			if open(crowdBanned, 8000, "host") {
				return errNotYet
			}
			return nil
		}); err != nil {
			data, _ := os.ReadFile(filepath.Join(dir, "cs-nftables.out"))
			t.Fatalf("the bouncer's ban did not close the host:\n%s", data)
		}
		mustBin(t, "sync")
		matrix(t, "CrowdSec bouncer, nftables mode (input hook only)", true)
		if out := doctor(); !strings.Contains(out, "bans-input-only") || !strings.Contains(out, "crowdsec") {
			t.Errorf("doctor does not name the bans on INPUT only:\n%s", out)
		}
		if out := mustSh(t, "nft list tables"); !strings.Contains(out, "ip crowdsec") || !strings.Contains(out, "inet ufw-docker-bridge") {
			t.Errorf("both tables should be there:\n%s", out)
		}
	})
	mustBin(t, "uninstall")
}
