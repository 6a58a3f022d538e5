package plan

import (
	"net/netip"
	"strings"
	"testing"
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
