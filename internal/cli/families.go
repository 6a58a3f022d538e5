package cli

import (
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/ufw"
)

// unmanaged returns the families we leave alone next to firewall fw, with
// why (backend.Backend.Unmanaged): IPv6 on a host without ip6tables, and next
// to UFW when UFW runs with IPV6=no.
func unmanaged(deps Deps, fw plan.Firewall) map[rules.Family]string {
	if why := deps.IPv6Missing(); why != "" {
		return map[rules.Family]string{rules.IPv6: why}
	}
	if fw == plan.UFW && ufw.IPv6Off(deps.UFWDefaults) {
		return map[rules.Family]string{rules.IPv6: "IPV6=no in " + deps.UFWDefaults +
			": UFW loads no after6.rules and drops every IPv6 packet but loopback's"}
	}
	return nil
}

// readable returns the families whose live rules can be read here: IPv4
// alone on a host without ip6tables.
func readable(deps Deps) []rules.Family {
	if deps.IPv6Missing() != "" {
		return []rules.Family{rules.IPv4}
	}
	return rules.Families
}
