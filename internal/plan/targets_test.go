package plan

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// A rule by name becomes one host-port rule per published port its
// container ports and protocol take, in its place, with its source; an
// absent target renders nothing.
func TestExpand(t *testing.T) {
	rs := mustRules(t, "allow 8080", "allow 80 to web from 10.0.0.0/8", "allow to shop/api", "allow 53/udp to dns", "allow to gone")
	targets := map[string][]Mapping{
		"web":      {{HostPort: 8081, ContainerPort: 80, Proto: "tcp"}, {HostPort: 8081, ContainerPort: 80, Proto: "tcp"}, {HostPort: 9000, ContainerPort: 9000, Proto: "tcp"}},
		"shop/api": {{HostPort: 8443, ContainerPort: 443, Proto: "tcp"}},
		"dns":      {{HostPort: 5353, ContainerPort: 53, Proto: "tcp"}, {HostPort: 5353, ContainerPort: 53, Proto: "udp"}},
	}
	var got []string
	for _, r := range Expand(rs, targets) {
		got = append(got, r.String())
	}
	want := "allow 8080|allow 8081/tcp from 10.0.0.0/8|allow 8443/tcp|allow 5353/udp"
	if strings.Join(got, "|") != want {
		t.Errorf("expanded:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if r := Expand(rs[:1], nil); len(r) != 1 || r[0].Source != (netip.Prefix{}) {
		t.Errorf("no target: %v", r)
	}
}

// A rule by name for a port Docker published on one host address opens
// that address only (IPv4 alone for an IPv4 address); one published on
// loopback renders nothing.
func TestExpandKeepsTheHostAddress(t *testing.T) {
	r, _ := rules.Parse([]string{"allow", "to", "pinned"})
	at := netip.MustParseAddr("203.0.113.1")
	rs := Expand(rules.Ruleset{r}, map[string][]Mapping{"pinned": {
		{HostPort: 8094, ContainerPort: 80, Proto: "tcp", HostIP: at},
		{HostPort: 8095, ContainerPort: 81, Proto: "tcp", HostIP: netip.MustParseAddr("127.0.0.1")},
	}})
	v4 := Filter(Input{Family: rules.IPv4, Rules: rs}).Chain(rules.ChainForward).Rules
	v6 := Filter(Input{Family: rules.IPv6, Rules: rs}).Chain(rules.ChainForward).Rules
	want := "-p tcp -m conntrack --ctstate DNAT --ctorigdst 203.0.113.1 --ctorigdstport 8094 -j RETURN"
	if !slices.Contains(v4, want) || slices.ContainsFunc(v4, func(l string) bool { return strings.Contains(l, "8095") }) {
		t.Errorf("IPv4 forward chain lacks %q or opens the loopback publish:\n%s", want, strings.Join(v4, "\n"))
	}
	if slices.ContainsFunc(v6, func(l string) bool { return strings.Contains(l, "8094") }) {
		t.Errorf("an IPv4 address's publish renders in IPv6:\n%s", strings.Join(v6, "\n"))
	}
}
