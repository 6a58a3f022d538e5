package engine

import (
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
)

// A container answers to its name, a compose service to project/service
// and, when one project alone has it, to its bare name; a Swarm task to its
// service; Docker's IPv4 and IPv6 listing of one port counts once.
func TestTargets(t *testing.T) {
	c := func(name string, labels map[string]string, ports ...docker.Port) docker.Container {
		return docker.Container{Names: []string{"/" + name}, Labels: labels, Ports: ports}
	}
	p := func(host, cont uint16) docker.Port {
		return docker.Port{IP: "0.0.0.0", PublicPort: host, PrivatePort: cont, Type: "tcp"}
	}
	p6 := func(host, cont uint16) docker.Port {
		return docker.Port{IP: "::", PublicPort: host, PrivatePort: cont, Type: "tcp"}
	}
	compose := func(project, svc string) map[string]string {
		return map[string]string{docker.ComposeProjectLabel: project, docker.ComposeServiceLabel: svc}
	}
	got := Targets([]docker.Container{
		c("web", nil, p(8080, 80), p6(8080, 80), docker.Port{PrivatePort: 9000, Type: "tcp"}),
		c("shop-api-1", compose("shop", "api"), p(8443, 443)),
		c("shop-api-2", compose("shop", "api"), p(8444, 443)),
		c("blog-db-1", compose("blog", "db"), p(5432, 5432)),
		c("crm-db-1", compose("crm", "db"), p(5433, 5432)),
		c("svc.1.x", map[string]string{swarmServiceLabel: "svc"}, p(7000, 80)),
	})
	for name, want := range map[string][]plan.Mapping{
		"web":        {{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}},
		"shop/api":   {{HostPort: 8443, ContainerPort: 443, Proto: "tcp"}, {HostPort: 8444, ContainerPort: 443, Proto: "tcp"}},
		"api":        {{HostPort: 8443, ContainerPort: 443, Proto: "tcp"}, {HostPort: 8444, ContainerPort: 443, Proto: "tcp"}},
		"blog/db":    {{HostPort: 5432, ContainerPort: 5432, Proto: "tcp"}},
		"db":         nil, // two projects have it: ambiguous, no answer
		"svc":        {{HostPort: 7000, ContainerPort: 80, Proto: "tcp"}},
		"shop-api-2": {{HostPort: 8444, ContainerPort: 443, Proto: "tcp"}},
	} {
		if g := got[name]; len(g) != len(want) || len(g) > 0 && g[0] != want[0] {
			t.Errorf("%s: %v, want %v", name, g, want)
		}
	}
}
