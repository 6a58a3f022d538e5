package plan

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func filterOf(t *testing.T, text string) *rules.Table {
	t.Helper()
	d, err := rules.ParseSave(text)
	if err != nil {
		t.Fatal(err)
	}
	return d.Table("filter")
}

func TestDockerBridges(t *testing.T) {
	// Docker 20.10 with a network named by com.docker.network.bridge.name
	// and Swarm's docker_gwbridge; an admin's rule in FORWARD for br-lan and
	// a libvirt rule name no Docker bridge; DOCKER-USER is ours.
	live := filterOf(t, `*filter
:FORWARD DROP [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o mailnet -j DOCKER
-A FORWARD -i mailnet ! -o mailnet -j ACCEPT
-A FORWARD -o docker_gwbridge -j DOCKER
-A FORWARD -i br-lan -j ACCEPT
-A FORWARD -o virbr0 -j LIBVIRT_FWI
-A DOCKER -d 172.20.0.2/32 ! -i mailnet -o mailnet -p tcp -m tcp --dport 25 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-USER -i br-vms -j ACCEPT
COMMIT
`)
	got := DockerBridges(live, nil)
	if want := []string{"docker0", "docker_gwbridge", "mailnet"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Docker 28's chains (DOCKER-BRIDGE, DOCKER-CT, DOCKER-FORWARD), from
	// a recorded ruleset.
	data, err := os.ReadFile("../doctor/testdata/docker29-iptables.iptables-save")
	if err != nil {
		t.Fatal(err)
	}
	d, err := rules.ParseSave(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := DockerBridges(d.Table("filter")); !slices.Contains(got, "docker0") {
		t.Errorf("Docker 29's iptables rules: got %v, want docker0 among them", got)
	}
}

func TestRoles(t *testing.T) {
	br := mustRules(t, "bridge br-lan exclude", "bridge br-vms include", "bridge mailnet include").Bridges()
	docker := []string{"docker0", "mailnet"}
	for name, want := range map[string]string{
		"docker0":      RoleContainers,
		"br-0123abcd":  RoleContainers, // a pattern: networks created later
		"mailnet":      RoleContainers, // Docker's, whatever an include says
		"br-vms":       RoleGuests,     // included: wins over the br-+ pattern
		"br-lan":       RoleExcluded,
		"virbr0":       RoleGuests,
		"lxcbr0":       RoleGuests,
		"mpqemubr0":    RoleGuests,
		"eth0":         RoleNone,
		"podman0":      RoleContainers,
		"cni-podman1":  RoleContainers,
		"incusbr0":     RoleGuests,
		"lxdbr0":       RoleGuests,
		"mpbr0":        RoleGuests,
		"br-something": RoleContainers,
	} {
		if got := RoleOf(br, docker, name); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
}

// TestNamedBridgesRender: Docker's renamed bridge is a container bridge in
// DOCKER-USER; an included br-vms leaves before the br-+ rules take it, its
// NEW connections into container bridges still going through our policy;
// an excluded br-lan returns first.
func TestNamedBridgesRender(t *testing.T) {
	rs := mustRules(t, "bridge br-lan exclude", "bridge br-vms include", "allow 8080")
	user := Filter(Input{Family: rules.IPv4, Rules: rs, DockerBridges: []string{"docker0", "mailnet"}}).Chain(rules.ChainUser).Rules
	pos := func(rule string) int {
		i := slices.Index(user, rule)
		if i < 0 {
			t.Fatalf("DOCKER-USER lacks %q:\n%s", rule, strings.Join(user, "\n"))
		}
		return i
	}
	if pos("-i br-lan -j RETURN") != 0 {
		t.Error("the exclusion is not first")
	}
	pos("-o mailnet -j " + rules.ChainForward)
	pos("-i mailnet -j RETURN")
	if !(pos("-i br-vms -o br-+ -j "+rules.ChainForward) < pos("-i br-vms -j ACCEPT") &&
		pos("-i br-vms -o mailnet -j "+rules.ChainForward) < pos("-i br-vms -j ACCEPT") &&
		pos("-i br-vms -j ACCEPT") < pos("-i br-+ -j RETURN")) {
		t.Errorf("br-vms's way out is not before the br-+ rules:\n%s", strings.Join(user, "\n"))
	}
	if n := strings.Count(strings.Join(user, "\n"), "-i br-vms -j ACCEPT"); n != 1 {
		t.Errorf("br-vms's way out rendered %d times", n)
	}
}

// TestAllowMatchesOnlyPublished: an allow opens only what Docker
// translated, never a loopback publish; deny and --host-too match any
// destination.
func TestAllowMatchesOnlyPublished(t *testing.T) {
	rs := mustRules(t, "allow 80", "allow from 10.8.0.0/24", "deny from 203.0.113.7", "allow 443/tcp --host-too")
	for _, f := range rules.Families {
		tab := Filter(Input{Family: f, Rules: rs, Firewall: IPTables})
		fwd := strings.Join(tab.Chain(rules.ChainForward).Rules, "\n")
		for _, want := range []string{
			"-p tcp -m conntrack --ctstate DNAT ! --ctorigdst " + loopback[f] + " --ctorigdstport 80 -j RETURN",
			"-p udp -m conntrack --ctstate DNAT ! --ctorigdst " + loopback[f] + " --ctorigdstport 80 -j RETURN",
		} {
			if !strings.Contains(fwd, want) {
				t.Errorf("%s: forward chain lacks %q:\n%s", f, want, fwd)
			}
		}
		if f == rules.IPv4 && !strings.Contains(fwd, "-s 10.8.0.0/24 -m conntrack --ctstate DNAT ! --ctorigdst 127.0.0.0/8 -j RETURN") {
			t.Errorf("the source allow is not limited to published ports:\n%s", fwd)
		}
		if f == rules.IPv4 && !strings.Contains(fwd, "-s 203.0.113.7/32 -j DROP") {
			t.Errorf("the deny is narrowed:\n%s", fwd)
		}
		in := strings.Join(tab.Chain(rules.ChainInput).Rules, "\n")
		if !strings.Contains(in, "-p tcp -m conntrack --ctorigdstport 443 -j MARK --set-xmark 0x1000000/0x1000000\n-p tcp -m conntrack --ctorigdstport 443 -j ACCEPT") || strings.Contains(in, "DNAT") {
			t.Errorf("%s: --host-too must match the host's own port:\n%s", f, in)
		}
	}
}

// TestSwarmIngressFacts: in the routing mesh's documented layout, Docker's
// bridges include docker_gwbridge (named only in Docker 28's chains, its
// FORWARD matching an ipset), and the ingress port is a published port.
func TestSwarmIngressFacts(t *testing.T) {
	data, err := os.ReadFile("../doctor/testdata/docker28-swarm-ingress.iptables-save")
	if err != nil {
		t.Fatal(err)
	}
	d, err := rules.ParseSave(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if got := DockerBridges(d.Table("filter")); !slices.Equal(got, []string{"docker0", "docker_gwbridge"}) {
		t.Errorf("Docker's bridges: %v", got)
	}
	ports, ok := PublishedPorts(d.Table("nat"))
	if !ok || len(ports) != 1 || ports[0].Port != "8080" || ports[0].To != "172.18.0.2:8080" || ports[0].Chain != "DOCKER-INGRESS" {
		t.Errorf("published: %v %+v", ok, ports)
	}
}
