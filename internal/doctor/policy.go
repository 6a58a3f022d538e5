package doctor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// checkContainerZones: a container bridge bound to a firewalld zone other
// than Docker's own ("docker"): that zone's rules then filter its
// containers' traffic, and allowed ports and container egress stop.
func checkContainerZones(h Host) []Finding {
	docker := plan.DockerBridges(filter(h, rules.IPv4), filter(h, rules.IPv6))
	var out []Finding
	for _, b := range h.Bridges {
		zone := h.Zones[b]
		if zone == "" || zone == "docker" || plan.RoleOf(h.Rules.Bridges(), docker, b) != plan.RoleContainers {
			continue
		}
		out = append(out, Finding{ID: "container-bridge-in-zone", Severity: Error,
			Summary: fmt.Sprintf("container bridge %s is in firewalld's zone %s: that zone's rules filter its containers' traffic, "+
				"so allowed published ports and container egress stop", b, zone),
			Evidence: []string{fmt.Sprintf("firewalld: getZoneOfInterface(%s) = %s", b, zone)},
			Fix:      fmt.Sprintf("firewall-cmd --permanent --zone=%s --remove-interface=%s; firewall-cmd --reload (Docker binds its bridges to zone docker)", zone, b)})
	}
	return out
}

// checkDockerUser: DOCKER-USER missing, or FORWARD's jump to it missing or
// not first, with what decides before it.
// Under Docker's nftables backend the chain and the jump are ours, checked
// once we are installed.
func checkDockerUser(h Host) []Finding {
	var out []Finding
	for _, f := range rules.Families {
		t := filter(h, f)
		if t == nil || !(plan.DockerManaged(t) || dockerNFT(h, f) && h.Installed[f]) {
			continue
		}
		if t.Chain(rules.ChainDockerUser) == nil {
			out = append(out, Finding{ID: "docker-user-missing", Severity: Error,
				Summary: fmt.Sprintf("%s: Docker publishes ports but DOCKER-USER is not there: nothing of the host's policy applies to them", f),
				Fix:     "ufw-docker-bridge sync (or restart Docker, which creates the chain)"})
			continue
		}
		fwd := t.Chain(rules.ChainForwardBuiltin)
		switch pos := rules.JumpPosition(t, rules.ChainForwardBuiltin, rules.ChainDockerUser); {
		case pos == 0:
			out = append(out, Finding{ID: "docker-user-jump-missing", Severity: Error,
				Summary: fmt.Sprintf("%s: FORWARD does not jump to DOCKER-USER: published ports ignore every rule in it", f),
				Fix:     "ufw-docker-bridge sync"})
		case pos > 1:
			var above []string
			for _, r := range fwd.Rules[:pos-1] {
				above = append(above, "-A FORWARD "+r+"   (owner: "+discover.OwnerOfRule(r)+")")
			}
			out = append(out, Finding{ID: "docker-user-jump-not-first", Severity: Error,
				Summary:  fmt.Sprintf("%s: FORWARD jumps to DOCKER-USER at rule %d: the rules above it decide first", f, pos),
				Evidence: above, Fix: "ufw-docker-bridge sync (the watcher keeps it first)"})
		}
	}
	return out
}

// checkDockerUserBypass: a rule of another tool (or an admin) in DOCKER-USER
// above our jump that accepts, or returns to FORWARD, connections our
// policy never sees. The guard drops NEW ones into container bridges (they
// carry no mark of ours), so it opens nothing; what it meant to let through
// does not get through either.
func checkDockerUserBypass(h Host) []Finding {
	var out []Finding
	for _, f := range rules.Families {
		t := filter(h, f)
		pos := rules.JumpPosition(t, rules.ChainDockerUser, rules.ChainUser)
		if t == nil || !h.Installed[f] || pos < 2 {
			continue
		}
		var evidence []string
		for _, r := range t.Chain(rules.ChainDockerUser).Rules[:pos-1] {
			if lets(t, r, 0) {
				evidence = append(evidence, "-A DOCKER-USER "+r+"   (owner: "+discover.OwnerOfRule(r)+")")
			}
		}
		if len(evidence) > 0 {
			out = append(out, Finding{ID: "docker-user-bypass", Severity: Warning,
				Summary: fmt.Sprintf("%s: DOCKER-USER lets connections by before our jump (rule %d): the guard drops the NEW ones into containers, "+
					"so they stay closed rather than follow the host's rules", f, pos),
				Evidence: evidence,
				Fix:      "delete those rules and say it with `ufw-docker-bridge allow` (or let the tool insert below our jump)"})
		}
	}
	return out
}

// lets reports whether rule r of table t, or a chain it jumps to, accepts
// connections, or returns them out of DOCKER-USER, before our policy sees
// them. Established traffic alone is no bypass.
func lets(t *rules.Table, r string, depth int) bool {
	if strings.Contains(r, "--ctstate RELATED,ESTABLISHED") && !strings.Contains(r, "NEW") {
		return false
	}
	switch target := rules.Arg(rules.Words(r), "-j"); {
	case target == "ACCEPT":
		return true
	case target == "RETURN":
		return depth == 0 // a RETURN in a chain it jumps to comes back here
	case depth < 4 && t.Chain(target) != nil && !slices.Contains(rules.OwnedChains, target):
		return slices.ContainsFunc(t.Chain(target).Rules, func(x string) bool { return lets(t, x, depth+1) })
	}
	return false
}

// drift lists how our live rules of family f differ from what the rules
// render for the installed backend: the difference status and sync see
// (plan.Repair), less FORWARD's jump to DOCKER-USER, which checkDockerUser
// reports with what decides before it.
func drift(h Host, f rules.Family) []string {
	live := filter(h, f)
	in := plan.Input{Family: f, Rules: h.Rules, Firewall: h.Firewall, DockerNFT: dockerNFT(h, f), DockerBridges: plan.DockerBridges(live)}
	all, _ := plan.Repair(in, live)
	jump := plan.ForwardFirst(live)
	return slices.DeleteFunc(all, func(d string) bool { return slices.Contains(jump, d) })
}

// dockerNFT reports whether Docker runs its nftables backend in family f:
// its table docker-bridges is there.
func dockerNFT(h Host, f rules.Family) bool {
	family := "ip"
	if f == rules.IPv6 {
		family = "ip6"
	}
	return hasNFT(h, family+" "+rules.DockerNFTTable)
}

// checkDrift: our chains differ from what the rules render.
func checkDrift(h Host) []Finding {
	var out []Finding
	for _, f := range rules.Families {
		t := filter(h, f)
		if t == nil || !h.Installed[f] {
			continue
		}
		if drift := drift(h, f); len(drift) > 0 {
			out = append(out, Finding{ID: "drift", Severity: Error,
				Summary:  fmt.Sprintf("%s: the live rules differ from the rules in the files (%d differences)", f, len(drift)),
				Evidence: drift, Fix: "ufw-docker-bridge sync"})
		}
	}
	if hasNFT(h, "inet "+rules.GuardTable) || !(h.Installed[rules.IPv4] || h.Installed[rules.IPv6]) {
		return out
	}
	return append(out, Finding{ID: "guard-missing", Severity: Warning,
		Summary: "the nftables guard table is missing: a clobbered DOCKER-USER opens published ports until the next repair",
		Fix:     "ufw-docker-bridge sync"})
}

// checkNotInstalled: Docker publishes ports, UFW runs, and we are not installed.
func checkNotInstalled(h Host) []Finding {
	t := filter(h, rules.IPv4)
	if t == nil || !plan.DockerManaged(t) || h.Installed[rules.IPv4] || t.Chain(rules.ChainUFWUserForward) == nil {
		return nil
	}
	return []Finding{{ID: "not-installed", Severity: Warning,
		Summary: "UFW is active next to Docker but ufw-docker-bridge is not installed: UFW does not see published ports",
		Fix:     "ufw-docker-bridge install"}}
}
