package doctor

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func publishedPorts(h Host) []plan.Published {
	d := h.Saves[rules.IPv4]
	if d == nil || d.Table("nat") == nil {
		return nil
	}
	ports, _ := plan.PublishedPorts(d.Table("nat"))
	return ports
}

// field returns the word after flag in a rule, or "".
func field(rule, flag string) string { return rules.Arg(rules.Words(rule), flag) }

// allowed reports whether an allow rule covers the port for every source.
func allowed(rs rules.Ruleset, proto, port string) bool {
	n, err := strconv.Atoi(port)
	if err != nil {
		return false
	}
	for _, r := range rs.Of(rules.Allow) {
		if r.Source.IsValid() || r.Ports.Any() || (r.Proto != rules.ProtoAny && string(r.Proto) != proto) {
			continue
		}
		if n >= int(r.Ports.First) && n <= int(r.Ports.Last) {
			return true
		}
	}
	return false
}

// checkExposed: published ports reachable from outside that no rule allows,
// computed from the live rules: every DNAT of Docker's is reachable unless
// our policy is live and first (or the guard holds), in which case only the
// allowed ones are.
func checkExposed(h Host) []Finding {
	t := filter(h, rules.IPv4)
	if t == nil {
		return nil
	}
	policy := h.Installed[rules.IPv4] && rules.JumpPosition(t, rules.ChainForwardBuiltin, rules.ChainDockerUser) == 1 &&
		len(drift(h, rules.IPv4)) == 0
	if policy || hasNFT(h, "inet "+rules.GuardTable) {
		return nil
	}
	var out []Finding
	for _, p := range publishedPorts(h) {
		if h.Installed[rules.IPv4] && allowed(h.Rules, p.Proto, p.Port) {
			continue
		}
		out = append(out, Finding{ID: "exposed-port", Severity: Error,
			Summary:  fmt.Sprintf("published port %s/%s (to %s) is reachable from outside and no rule allows it", p.Port, p.Proto, p.To),
			Evidence: []string{"nat " + p.Chain + ": DNAT " + p.Proto + " dport " + p.Port + " to " + p.To},
			Fix:      "ufw-docker-bridge install (then allow only what must be open), or ufw-docker-bridge sync"})
	}
	return append(out, checkExposedIPv6(h)...)
}

// checkExposedIPv6: a port published on every address with no IPv6 DNAT
// (its network has no IPv6, or Docker runs without ip6tables) reaches IPv6
// clients through docker-proxy in INPUT, where only the host's IPv6 input
// rules decide; the guard's input chain closes that path. A host whose
// IPv6 rules could not be read (no IPv6) has no such path.
func checkExposedIPv6(h Host) []Finding {
	d6 := h.Saves[rules.IPv6]
	if d6 == nil || hasNFT(h, "inet "+rules.GuardTable) {
		return nil
	}
	ports6, _ := plan.PublishedPorts(d6.Table("nat"))
	var out []Finding
	for _, p := range publishedPorts(h) {
		if p.Addr.IsValid() || slices.ContainsFunc(ports6, func(q plan.Published) bool { return q.Proto == p.Proto && q.Port == p.Port }) {
			continue
		}
		out = append(out, Finding{ID: "exposed-port-ipv6", Severity: Warning,
			Summary:  fmt.Sprintf("published port %s/%s has no IPv6 DNAT: IPv6 clients reach it through docker-proxy (Docker's default userland proxy) wherever the host's IPv6 input rules let them", p.Port, p.Proto),
			Evidence: []string{"nat " + p.Chain + ": DNAT " + p.Proto + " dport " + p.Port + " to " + p.To, "ip6tables nat: no DNAT for " + p.Proto + " dport " + p.Port},
			Fix:      "ufw-docker-bridge install (its guard closes that path; allow PORT --host-too opens it)"})
	}
	return out
}
