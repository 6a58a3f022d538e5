package integration

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// doctorIDs runs doctor --json and returns the finding ids and the exit code.
func doctorIDs(t testing.TB) (map[string]int, int) {
	t.Helper()
	out, errs, code := runBin("doctor", "--json")
	var fs []struct {
		ID       string   `json:"id"`
		Severity string   `json:"severity"`
		Summary  string   `json:"summary"`
		Evidence []string `json:"evidence"`
		Fix      string   `json:"fix"`
	}
	if err := json.Unmarshal([]byte(out), &fs); err != nil {
		t.Fatalf("doctor --json does not parse: %v\n%s%s", err, out, errs)
	}
	ids := map[string]int{}
	for _, f := range fs {
		ids[f.ID]++
		if f.Summary == "" || f.Fix == "" || f.Severity == "" {
			t.Errorf("finding %s lacks a summary, severity or fix", f.ID)
		}
	}
	return ids, code
}

// TestDoctor provokes real conflicts in the lab and checks that doctor names
// each, and that the ports it calls exposed really answer from outside.
func TestDoctor(t *testing.T) {
	fresh(t)
	ids, code := doctorIDs(t)
	if code != 1 || ids["not-installed"] != 1 || ids["exposed-port"] < 4 {
		t.Errorf("before install: exit %d, %v", code, ids)
	}
	expect(t, "doctor says exposed", map[probe]bool{web: true, db: true, api: true})

	mustBin(t, "install")
	mustBin(t, "allow", "9443")
	defer runBin("uninstall")
	if ids, code := doctorIDs(t); code != 0 {
		t.Errorf("after install: exit %d, %v", code, ids)
	}
	mustSh(t, "iptables -D FORWARD -j DOCKER-USER && iptables -A FORWARD -j DOCKER-USER")
	if ids, code := doctorIDs(t); code != 1 || ids["docker-user-jump-not-first"] != 1 {
		t.Errorf("jump moved: exit %d, %v", code, ids)
	}
	mustSh(t, "iptables -F DOCKER-USER")
	if ids, _ := doctorIDs(t); ids["drift"] != 1 {
		t.Errorf("DOCKER-USER flushed: %v", ids)
	}
	mustSh(t, "iptables -t nat -I POSTROUTING -s 172.17.0.0/16 -j MASQUERADE")
	defer lab.Sh("iptables -t nat -D POSTROUTING -s 172.17.0.0/16 -j MASQUERADE")
	if ids, _ := doctorIDs(t); ids["duplicate-masquerade"] != 1 {
		t.Errorf("duplicate MASQUERADE: %v", ids)
	}
	mustBin(t, "sync")
	ids, _ = doctorIDs(t)
	if ids["drift"] != 0 || ids["docker-user-jump-not-first"] != 0 {
		t.Errorf("after sync: %v", ids)
	}
	out, _, _ := runBin("doctor")
	if !strings.Contains(out, "duplicate-masquerade") || !strings.Contains(out, "fix:") {
		t.Errorf("doctor text output:\n%s", out)
	}

	// status --verbose: the hooks in evaluation order with owners and counters.
	out = mustBin(t, "status", "--verbose")
	t.Log(out)
	for _, want := range []string{"ipv4 filter FORWARD (policy DROP):", "docker (DOCKER-USER):", "docker:", "ufw:",
		"inet ufw-docker-bridge", "ufw-docker-bridge\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("status --verbose lacks %q", want)
		}
	}
	var st struct {
		Hooks []struct {
			Chain string `json:"chain"`
			Rules []struct {
				Owner    string `json:"owner"`
				Counters string `json:"counters"`
			} `json:"rules"`
		} `json:"hooks"`
	}
	if err := json.Unmarshal([]byte(mustBin(t, "status", "--verbose", "--json")), &st); err != nil || len(st.Hooks) == 0 {
		t.Fatalf("status --verbose --json: %v", err)
	}
	if st.Hooks[0].Rules[0].Counters == "" {
		t.Error("no packet counters in status --verbose --json")
	}
}

// TestExplainAgreesWithPackets: for (source, port) pairs, explain's verdict
// is what a real connection from the external namespace gets.
func TestExplainAgreesWithPackets(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	mustBin(t, "allow", "9443")
	mustBin(t, "allow", "3306/tcp", "from", lanNet)
	mustBin(t, "deny", "from", deniedAddr)
	defer runBin("uninstall")
	cases := []probe{web, api, apiLAN, db, dbLAN, sshHost, hostDeny, appnet,
		{name: "api", from: deniedAddr, port: 9443, want: "api"}, echoUDP}
	// Routed, not delivered: the client sends straight to containers'
	// addresses (no DNAT), and to a LAN bridge that a ufw route rule opens.
	mustSh(t, "ip netns exec "+extNS+" ip route replace 172.17.0.0/16 via "+hostAddr)
	defer lab.Sh("ip netns exec " + extNS + " ip route del 172.17.0.0/16")
	for _, name := range []string{"web", "api"} {
		ip := strings.TrimSpace(mustSh(t, docker+" inspect -f '{{.NetworkSettings.IPAddress}}' "+name))
		port := map[string]int{"web": 80, "api": 443}[name]
		cases = append(cases, probe{name: name + " routed", from: clientAddr, port: port, want: name, addr: ip})
	}
	adminBridge(t, "br-lan", "udblan", "10.78.0.1/24", "10.78.0.5/24")
	mustSh(t, "ufw route allow proto tcp to 10.78.0.0/24 port 80")
	defer lab.Sh("ufw route delete allow proto tcp to 10.78.0.0/24 port 80")
	cases = append(cases, probe{name: "lan host (ufw route)", from: clientAddr, port: 80, want: "udblan", addr: "10.78.0.5"},
		probe{name: "lan host", from: clientAddr, port: 8000, want: "udblan", addr: "10.78.0.5"})
	want := map[probe]bool{}
	for _, p := range cases {
		proto := "tcp"
		if p.udp {
			proto = "udp"
		}
		addr := p.addr
		if addr == "" {
			addr = hostAddr
		}
		out := mustBin(t, "explain", "--from", p.from, "--to", addr+":"+itoa(p.port)+"/"+proto, "--json")
		var res struct {
			Verdict string `json:"verdict"`
			Decided string `json:"decided_by"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("explain --json: %v\n%s", err, out)
		}
		t.Logf("explain %-40s %s by %s", p.key(), res.Verdict, res.Decided)
		want[p] = res.Verdict == "ACCEPT"
	}
	expect(t, "what explain predicted", want)
}

func itoa(n int) string { return strconv.Itoa(n) }

// healthyDoctor checks that doctor finds nothing wrong with a host that is
// healthy (exit 0): no drift, no UFW advice on a host whose backend is not
// UFW.
func healthyDoctor(t testing.TB, backend string) {
	t.Helper()
	ids, code := doctorIDs(t)
	t.Logf("doctor on a healthy %s host: exit %d, %v", backend, code, ids)
	if code != 0 {
		out, _, _ := runBin("doctor")
		t.Errorf("doctor on a healthy %s host exits %d:\n%s", backend, code, out)
	}
	for id := range ids {
		if id == "drift" || strings.HasPrefix(id, "ufw-") {
			t.Errorf("doctor on a healthy %s host says %s", backend, id)
		}
	}
}
