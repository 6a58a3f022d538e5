package plan

import (
	"net/netip"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Published is one port Docker publishes: a DNAT rule of its nat DOCKER
// chain, or of DOCKER-INGRESS (Swarm's routing mesh).
type Published struct {
	// Proto is tcp or udp; Port the host port (or "first:last").
	Proto, Port string
	// Addr is the host address the port is bound to; the zero Addr means
	// every address.
	Addr netip.Addr
	// To is the container's address and port.
	To string
	// Chain is Docker's nat chain that holds the DNAT rule.
	Chain string
}

// dockerDNATChains are Docker's nat chains that hold its published ports:
// DOCKER, and Swarm's DOCKER-INGRESS for the routing mesh.
var dockerDNATChains = []string{"DOCKER", "DOCKER-INGRESS"}

// PublishedPorts reads Docker's published ports from the live nat table; ok
// is false when Docker's DOCKER chain is not there (flushed, or no Docker),
// so nothing can be said about them.
func PublishedPorts(nat *rules.Table) (ports []Published, ok bool) {
	if nat.Chain("DOCKER") == nil {
		return nil, false
	}
	for _, name := range dockerDNATChains {
		ports = append(ports, dnatPorts(nat.Chain(name))...)
	}
	return ports, true
}

// dnatPorts reads the published ports of the DNAT rules of chain c (nil:
// none).
func dnatPorts(c *rules.Chain) []Published {
	if c == nil {
		return nil
	}
	var ports []Published
	for _, r := range c.Rules {
		w := rules.Words(r)
		if rules.Arg(w, "-j") != "DNAT" {
			continue
		}
		p := Published{Proto: rules.Arg(w, "-p"), Port: rules.Arg(w, "--dport"), To: rules.Arg(w, "--to-destination"), Chain: c.Name}
		if d := rules.Arg(w, "-d"); d != "" {
			a, err := netip.ParsePrefix(d)
			if err != nil || !a.IsSingleIP() {
				continue
			}
			p.Addr = a.Addr()
		}
		if p.Port != "" && p.Proto != "" {
			ports = append(ports, p)
		}
	}
	return ports
}
