package explain

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// env is the Docker 20.10 + UFW host recorded in the lab after install and
// allow 9443 (internal/doctor/testdata).
func env(t *testing.T, name string, guard bool) Env {
	t.Helper()
	data, err := os.ReadFile("../doctor/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := rules.ParseSave(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return Env{Save: d, Guard: guard, GuardBridges: plan.ContainerBridges(), Bridges: []Bridge{
		{Name: "docker0", Prefixes: []netip.Prefix{netip.MustParsePrefix("172.17.0.1/16")}},
		{Name: "br-79061e23131e", Prefixes: []netip.Prefix{netip.MustParsePrefix("172.18.0.1/16")}},
	}, Local: []netip.Addr{netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("172.17.0.1"), netip.MustParseAddr("172.18.0.1")}}
}

func pkt(src string, port int, proto string) Packet {
	return Packet{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr("203.0.113.1"), Proto: proto, DPort: port}
}

func TestExplainInstalled(t *testing.T) {
	e := env(t, "docker20-ufw-installed.iptables-save", true)
	for _, tc := range []struct {
		port    int
		proto   string
		verdict string
		decided string
		path    string
	}{
		{8080, "tcp", "DROP", "filter ufw-docker-bridge-forward", "FORWARD to docker0"},
		{9443, "tcp", "ACCEPT", "filter DOCKER #", "FORWARD to docker0"},
		{8088, "tcp", "DROP", "filter ufw-docker-bridge-forward", "FORWARD to br-79061e23131e"},
		{5005, "udp", "DROP", "filter ufw-docker-bridge-forward", "FORWARD to docker0"},
		{22, "tcp", "ACCEPT", "filter ufw-user-input", "INPUT"},
		{2222, "tcp", "DROP", "filter INPUT: policy DROP", "INPUT"},
	} {
		r := Explain(e, pkt("203.0.113.8", tc.port, tc.proto))
		if r.Verdict != tc.verdict || !strings.HasPrefix(r.Decided, tc.decided) || !strings.HasPrefix(r.Path, tc.path) {
			t.Errorf("%d/%s: %s by %q via %q, want %s by %q via %q\n%s", tc.port, tc.proto, r.Verdict, r.Decided, r.Path,
				tc.verdict, tc.decided, tc.path, strings.Join(r.Steps, "\n"))
		}
	}
}

func TestExplainBeforeInstallAndGuard(t *testing.T) {
	e := env(t, "docker20-ufw.iptables-save", false)
	r := Explain(e, pkt("203.0.113.8", 8080, "tcp"))
	if r.Verdict != "ACCEPT" || !strings.HasPrefix(r.DNAT, "172.17.0.") {
		t.Errorf("before install 8080 is open through Docker's DNAT: %+v", r)
	}
	// The same ruleset with the guard in place: no mark, the guard drops it.
	e.Guard = true
	if r := Explain(e, pkt("203.0.113.8", 8080, "tcp")); r.Verdict != "DROP" || !strings.Contains(r.Decided, rules.GuardTable) {
		t.Errorf("guard: %+v", r)
	}
}

// TestExplainRouted: a packet to a container's own address is routed, not
// delivered: before install Docker's DOCKER chain accepts it (port 80 of a
// container published as 8080:80); after install with allow 9443 our forward
// chain drops it, because no DNAT took place.
func TestExplainRouted(t *testing.T) {
	to := func(dst string, port int) Packet {
		return Packet{Src: netip.MustParseAddr("203.0.113.8"), Dst: netip.MustParseAddr(dst), Proto: "tcp", DPort: port}
	}
	before := Explain(env(t, "docker20-ufw.iptables-save", false), to("172.17.0.2", 80))
	if before.Verdict != "ACCEPT" || before.DNAT != "" || !strings.HasPrefix(before.Path, "FORWARD to docker0 (routed") {
		t.Errorf("before install: %+v", before)
	}
	after := Explain(env(t, "docker20-ufw-installed.iptables-save", true), to("172.17.0.2", 80))
	if after.Verdict != "DROP" || !strings.HasPrefix(after.Decided, "filter ufw-docker-bridge-forward") {
		t.Errorf("after install: %+v", after)
	}
	// A destination beyond every bridge leaves by an external interface.
	if r := Explain(env(t, "docker20-ufw-installed.iptables-save", true), to("198.51.100.20", 80)); !strings.Contains(r.Path, "nor of its bridges") {
		t.Errorf("routed elsewhere: %+v", r)
	}
}

// TestExplainSwarmIngress: the routing mesh's layout as Docker documents it
// (DOCKER-INGRESS DNAT to docker_gwbridge, Docker 28's chains). Before
// install the port is open; with our chains in place (docker_gwbridge known
// from Docker's rules, not its name) it is closed until allowed, and a
// denied source stays out.
func TestExplainSwarmIngress(t *testing.T) {
	e := env(t, "docker28-swarm-ingress.iptables-save", false)
	e.Bridges = append(e.Bridges, Bridge{Name: "docker_gwbridge", Prefixes: []netip.Prefix{netip.MustParsePrefix("172.18.0.1/16")}})
	e.GuardBridges = []string{"docker0", "docker_gwbridge"}
	r := Explain(e, pkt("203.0.113.8", 8080, "tcp"))
	if r.Verdict != "ACCEPT" || r.DNAT != "172.18.0.2:8080" || r.Path != "FORWARD to docker_gwbridge" {
		t.Fatalf("before install: %+v", r)
	}
	filter := e.Save.Table("filter")
	install := func(lines ...string) {
		var rs rules.Ruleset
		for _, l := range lines {
			x, err := rules.Parse(strings.Fields(l))
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, x)
		}
		in := plan.Input{Family: rules.IPv4, Rules: rs, DockerBridges: plan.DockerBridges(filter)}
		after, err := rules.Apply(filter, plan.Restore(in, filter, plan.Refill, plan.KeepJumps))
		if err != nil {
			t.Fatal(err)
		}
		*filter = *after
	}
	e.Guard = true
	install()
	if r := Explain(e, pkt("203.0.113.8", 8080, "tcp")); r.Verdict != "DROP" || !strings.HasPrefix(r.Decided, "filter ufw-docker-bridge-forward") {
		t.Errorf("installed, no rule: %+v", r)
	}
	install("allow 8080", "deny from 203.0.113.7")
	if r := Explain(e, pkt("203.0.113.8", 8080, "tcp")); r.Verdict != "ACCEPT" || !strings.HasPrefix(r.Decided, "filter DOCKER-INGRESS #1") {
		t.Errorf("allow 8080: %+v", r)
	}
	if r := Explain(e, pkt("203.0.113.7", 8080, "tcp")); r.Verdict != "DROP" {
		t.Errorf("denied source: %+v", r)
	}
}

// TestExplainForwards: our NAT table's forwards take what Docker's DNAT
// left, by source, protocol and host port, and route it to the guest's
// bridge; a rule that is not a forward is said, not guessed.
func TestExplainForwards(t *testing.T) {
	e := env(t, "docker20-ufw-installed.iptables-save", true)
	e.Bridges = append(e.Bridges, Bridge{Name: "lxdbr0", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.99.0.1/24")}})
	guest := netip.MustParseAddr("10.99.0.5")
	e.Forwards = []plan.Forward{
		{},
		{Proto: "tcp", Port: 2223, Source: netip.MustParsePrefix("198.51.100.0/24"), Dest: guest, ToPort: 80},
		{Proto: "{ tcp, udp }", Port: 2222, Dest: guest, ToPort: 22},
		{Proto: "tcp", Port: 8080, Dest: guest, ToPort: 80},
	}
	e.Unread = []string{"inet ufw-docker-bridge-nat prerouting #1: a rule not of ours"}
	for _, tc := range []struct {
		src   string
		port  int
		proto string
		dnat  string
		step  string
	}{
		{"203.0.113.8", 2222, "tcp", "10.99.0.5:22", "prerouting #3"},
		{"203.0.113.8", 2222, "udp", "10.99.0.5:22", "prerouting #3"},
		{"198.51.100.7", 2223, "tcp", "10.99.0.5:80", "prerouting #2"},
		{"203.0.113.8", 2223, "tcp", "", ""},              // not its source
		{"203.0.113.8", 8080, "tcp", "172.17.0.2:80", ""}, // Docker's DNAT first
	} {
		r := Explain(e, pkt(tc.src, tc.port, tc.proto))
		steps := strings.Join(r.Steps, "\n")
		if r.DNAT != tc.dnat || tc.step != "" && (!strings.Contains(steps, "inet "+rules.NATTable+" "+tc.step) || r.Path != "FORWARD to lxdbr0") ||
			tc.step == "" && strings.Contains(steps, rules.NATTable) {
			t.Errorf("%s -> %d/%s: DNAT %q via %q, want %q by %q\n%s", tc.src, tc.port, tc.proto, r.DNAT, r.Path, tc.dnat, tc.step, steps)
		}
		if len(r.Uncertain) == 0 || r.Uncertain[0] != e.Unread[0] {
			t.Errorf("the unread rule is not said: %q", r.Uncertain)
		}
	}
	// An IPv6 client: the IPv4 forward of 2222 does not take it, the IPv6
	// one does.
	host6 := netip.MustParseAddr("2001:db8::1")
	e.Local = append(e.Local, host6)
	e.Forwards = append(e.Forwards, plan.Forward{Proto: "tcp", Port: 2222, Dest: netip.MustParseAddr("fd00::5"), ToPort: 22})
	r := Explain(e, Packet{Src: netip.MustParseAddr("2001:db8::8"), Dst: host6, Proto: "tcp", DPort: 2222})
	if steps := strings.Join(r.Steps, "\n"); !strings.Contains(steps, "prerouting #5") || strings.Contains(steps, "prerouting #3") {
		t.Errorf("IPv6 client to 2222: want the IPv6 forward (#5) alone:\n%s", steps)
	}
}

// A `ufw route allow in on eth0 out on docker0 ...` rule decides routed
// traffic by the interface it comes in by: the walk takes the packet's
// (the route to its source, in the command) and meets the rule; without
// it, no rule names the interface.
func TestExplainInboundInterface(t *testing.T) {
	e := env(t, "docker20-ufw-installed.iptables-save", true)
	route := "-A ufw-user-forward -i eth0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT"
	f := e.Save.Table("filter")
	f.Chain("ufw-user-forward").Rules = append(f.Chain("ufw-user-forward").Rules, strings.TrimPrefix(route, "-A ufw-user-forward "))
	p := pkt("203.0.113.8", 8080, "tcp")
	if r := Explain(e, p); r.Verdict != "DROP" {
		t.Errorf("from an interface no rule names: %s by %s", r.Verdict, r.Decided)
	}
	p.InIface = "eth0"
	if r := Explain(e, p); r.Verdict != "ACCEPT" || !strings.HasPrefix(r.Decided, "filter ufw-user-forward") {
		t.Errorf("in by eth0: %s by %q\n%s", r.Verdict, r.Decided, strings.Join(r.Steps, "\n"))
	}
	p.InIface = "eth1"
	if r := Explain(e, p); r.Verdict != "DROP" {
		t.Errorf("in by eth1: %s by %s", r.Verdict, r.Decided)
	}
}
