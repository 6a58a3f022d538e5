package plan

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func nets(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		out = append(out, netip.MustParsePrefix(x))
	}
	return out
}

func TestNATSubnets(t *testing.T) {
	bridges := []BridgeNet{
		{Name: "virbr0", Nets: nets("192.168.122.1/24")},                 // libvirt masquerades it
		{Name: "lxdbr0", Nets: nets("10.205.11.1/24", "fd42:a0::1/64")},  // no one does
		{Name: "virbr1", Nets: nets("198.51.100.1/24")},                  // public: routed, never NATed
		{Name: "docker0", Nets: nets("172.17.0.1/16")},                   // not a guest bridge
		{Name: "br-vms", Nets: nets("10.77.0.1/24")},                     // included
		{Name: "lxdbr1", Nets: nets("10.206.0.1/24")},                    // nat-off
		{Name: "incusbr0", Nets: nets("10.207.0.1/24", "10.207.0.9/24")}, // two addresses, one subnet
	}
	rs := mustRules(t, "bridge br-vms include", "bridge lxdbr1 nat-off")
	got := NATSubnets(bridges, nets("192.168.122.0/24", "172.17.0.0/16"), rs.Bridges())
	want := "10.205.11.0/24 fd42:a0::/64 10.77.0.0/24 10.207.0.0/24"
	if s := fmtPrefixes(got); s != want {
		t.Errorf("NAT subnets %s, want %s", s, want)
	}
	// A NAT of every source (a router's -o eth0 MASQUERADE) covers them all.
	if got := NATSubnets(bridges, nets("0.0.0.0/0", "::/0"), rs.Bridges()); len(got) != 0 {
		t.Errorf("with everything masqueraded: %v", got)
	}
	// A wider owner rule covers a narrower subnet; a narrower one does not.
	if got := NATSubnets(bridges[1:2], nets("10.0.0.0/8", "fd42:a0::5/128"), rs.Bridges()); fmtPrefixes(got) != "fd42:a0::/64" {
		t.Errorf("coverage: %v", got)
	}
}

func fmtPrefixes(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, " ")
}

func TestNATGolden(t *testing.T) {
	script, comment := NAT(nets("10.205.11.0/24", "fd42:a0::/64"), nil)
	if !strings.HasPrefix(comment, rules.NATCommentPrefix) || !strings.Contains(script, comment) {
		t.Errorf("comment %q not in the script", comment)
	}
	golden(t, "nat", script)
	if again, c2 := NAT(nets("10.205.11.0/24", "fd42:a0::/64"), nil); again != script || c2 != comment {
		t.Error("NAT is not deterministic")
	}
	if script, comment := NAT(nil, nil); script != NATRemoval() || comment != "" {
		t.Errorf("no subnets: %q %q", script, comment)
	}
}
