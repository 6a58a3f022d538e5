package engine

import (
	"net/netip"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// A container answers to its name and (for its label's rules) its ID, a
// compose service to project/service and, when one project alone has it,
// to service:NAME; a Swarm service to service:NAME through the tasks its
// manager lists, never through a container's own labels; Docker's IPv4
// and IPv6 listing of one port on every address counts once, and a port
// published on one address keeps it.
func TestTargets(t *testing.T) {
	c := func(id, name string, labels map[string]string, ports ...docker.Port) docker.Container {
		return docker.Container{ID: id, Names: []string{"/" + name}, Labels: labels, Ports: ports}
	}
	p := func(host, cont uint16) docker.Port {
		return docker.Port{IP: "0.0.0.0", PublicPort: host, PrivatePort: cont, Type: "tcp"}
	}
	p6 := func(host, cont uint16) docker.Port {
		return docker.Port{IP: "::", PublicPort: host, PrivatePort: cont, Type: "tcp"}
	}
	on := func(ip string, host, cont uint16) docker.Port {
		return docker.Port{IP: ip, PublicPort: host, PrivatePort: cont, Type: "tcp"}
	}
	compose := func(project, svc string) map[string]string {
		return map[string]string{docker.ComposeProjectLabel: project, docker.ComposeServiceLabel: svc}
	}
	got := Targets([]docker.Container{
		c("i1", "web", nil, p(8080, 80), p6(8080, 80), docker.Port{PrivatePort: 9000, Type: "tcp"}),
		c("i2", "shop-api-1", compose("shop", "api"), p(8443, 443)),
		c("i3", "shop-api-2", compose("shop", "api"), p(8444, 443)),
		c("i4", "blog-db-1", compose("blog", "db"), p(5432, 5432)),
		c("i5", "crm-db-1", compose("crm", "db"), p(5433, 5432)),
		c("i6", "svc.1.x", map[string]string{"com.docker.swarm.service.name": "svc"}, p(7000, 80)),
		// Labels that claim the names above: a Swarm task the manager does
		// not list, and a compose service named like a container.
		c("i7", "forger", map[string]string{"com.docker.swarm.service.name": "svc", docker.ComposeServiceLabel: "web",
			docker.ComposeProjectLabel: "x"}, p(7001, 80)),
		c("i8", "pinned", nil, on("203.0.113.1", 8094, 80), on("127.0.0.1", 8095, 81)),
	}, map[string]string{"i6": "svc"})
	m := func(host, cont uint16) plan.Mapping {
		return plan.Mapping{HostPort: host, ContainerPort: cont, Proto: "tcp"}
	}
	for name, want := range map[string][]plan.Mapping{
		"web":                   {m(8080, 80)},
		"shop/api":              {m(8443, 443), m(8444, 443)},
		"api":                   nil, // no container of that name
		"service:api":           {m(8443, 443), m(8444, 443)},
		"blog/db":               {m(5432, 5432)},
		"service:db":            nil, // two projects have it: ambiguous, no answer
		"svc":                   nil,
		"service:svc":           {m(7000, 80)},
		"service:web":           {m(7001, 80)}, // compose's service web of one project: x
		"shop-api-2":            {m(8444, 443)},
		rules.LabelTarget("i2"): {m(8443, 443)},
		"pinned": {{HostPort: 8094, ContainerPort: 80, Proto: "tcp", HostIP: netip.MustParseAddr("203.0.113.1")},
			{HostPort: 8095, ContainerPort: 81, Proto: "tcp", HostIP: netip.MustParseAddr("127.0.0.1")}},
	} {
		if g := got[name]; len(g) != len(want) || len(g) > 0 && (g[0] != want[0] || g[len(g)-1] != want[len(want)-1]) {
			t.Errorf("%s: %v, want %v", name, g, want)
		}
	}
	// A rule by name opens the address Docker publishes on, and nothing
	// published on loopback.
	r, _ := rules.Parse([]string{"allow", "to", "pinned"})
	exp := plan.Expand(rules.Ruleset{r}, got)
	if len(exp) != 1 || exp[0].HostAddr != netip.MustParseAddr("203.0.113.1") || exp[0].Ports.First != 8094 {
		t.Errorf("allow to pinned: %v", exp)
	}
}
