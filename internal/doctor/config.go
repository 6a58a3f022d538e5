package doctor

import (
	"fmt"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// checkMixed: iptables-legacy and iptables-nft both holding rules.
func checkMixed(h Host) []Finding {
	if h.Other == nil {
		return nil
	}
	var evidence []string
	for _, t := range h.Other.Tables {
		for _, c := range t.Chains {
			if len(c.Rules) > 0 {
				evidence = append(evidence, fmt.Sprintf("%s %s: %d rules", t.Name, c.Name, len(c.Rules)))
			}
		}
	}
	if len(evidence) == 0 {
		return nil
	}
	out := []Finding{{ID: "mixed-iptables", Severity: Error,
		Summary:  "the other iptables variant than the system's (" + h.Variant + ") holds rules too: the two rule sets do not see each other",
		Evidence: evidence, Fix: "move everything to one variant (update-alternatives --config iptables), then reboot"}}
	// Docker's chains only in the other variant: Docker runs with the other
	// iptables, so UFW's rules and ours never see its traffic.
	if ot := h.Other.Table("filter"); ot != nil && plan.DockerManaged(ot) {
		if t := filter(h, rules.IPv4); t == nil || !plan.DockerManaged(t) {
			out = append(out, Finding{ID: "docker-other-variant", Severity: Error,
				Summary:  "Docker writes its rules with the other iptables variant than the system's (" + h.Variant + "): UFW's rules and ours never see its traffic",
				Evidence: []string{"Docker's chains are in the other variant's filter table, not in " + h.Variant + "'s"},
				Fix:      "point iptables and ip6tables at one variant for everyone (update-alternatives --set iptables ...), then restart docker and ufw"})
		}
	}
	return out
}

// checkDockerConfig: Docker without iptables, or with its nftables backend.
func checkDockerConfig(h Host) []Finding {
	var out []Finding
	if v, ok := h.Docker["iptables"].(bool); ok && !v {
		out = append(out, Finding{ID: "docker-iptables-false", Severity: Warning,
			Summary:  `Docker runs with "iptables": false: it publishes no ports through the firewall and masquerades nothing`,
			Evidence: []string{`/etc/docker/daemon.json: "iptables": false`}, Fix: `remove "iptables": false unless you manage every rule yourself`})
	}
	nftMode := dockerNFT(h, rules.IPv4) || dockerNFT(h, rules.IPv6) || h.Docker["firewall-backend"] == "nftables"
	if nftMode && !h.Installed[rules.IPv4] && !h.Installed[rules.IPv6] {
		out = append(out, Finding{ID: "docker-nftables-backend", Severity: Error,
			Summary: "Docker uses its nftables firewall backend and makes no DOCKER-USER: no host rule governs its published ports, " +
				"and next to UFW's FORWARD DROP its containers have no egress and its ports answer no one",
			Evidence: []string{"nftables table ip " + rules.DockerNFTTable}, Fix: "ufw-docker-bridge install"})
	}
	return out
}

// checkUFW: UFW inactive, firewalld and UFW both active, MANAGE_BUILTINS.
func checkUFW(h Host) []Finding {
	var out []Finding
	enabled := strings.EqualFold(h.UFW["ENABLED"], "yes")
	if !enabled && h.Firewall == plan.UFW && (h.Installed[rules.IPv4] || h.Installed[rules.IPv6]) {
		out = append(out, Finding{ID: "ufw-inactive", Severity: Warning,
			Summary: "UFW is not enabled: the blocks in its files load only when it starts (the live rules still hold)",
			Fix:     "ufw enable"})
	}
	if enabled && hasNFT(h, "inet firewalld") {
		out = append(out, Finding{ID: "firewalld-and-ufw", Severity: Error,
			Summary: "firewalld and UFW are both active: each flushes or overrides the other's rules",
			Fix:     "keep one: systemctl disable --now firewalld, or ufw disable"})
	}
	if strings.EqualFold(h.UFW["MANAGE_BUILTINS"], "yes") {
		out = append(out, Finding{ID: "ufw-manage-builtins", Severity: Error,
			Summary:  "UFW runs with MANAGE_BUILTINS=yes: every ufw start flushes all chains, Docker's included",
			Evidence: []string{"/etc/default/ufw: MANAGE_BUILTINS=yes"}, Fix: "set MANAGE_BUILTINS=no in /etc/default/ufw"})
	}
	return out
}

// checkRejectAbove: libvirt/LXD catch-alls above UFW's forward chains make
// `ufw route allow` useless for their bridges.
func checkRejectAbove(h Host) []Finding {
	t := filter(h, rules.IPv4)
	if t == nil {
		return nil
	}
	fwd := t.Chain(rules.ChainForwardBuiltin)
	ufwPos := rules.JumpPosition(t, rules.ChainForwardBuiltin, "ufw-before-logging-forward")
	if fwd == nil || ufwPos == 0 {
		return nil
	}
	var evidence []string
	for _, r := range fwd.Rules[:ufwPos-1] {
		target := field(r, "-j")
		if target == "REJECT" || strings.HasPrefix(target, "LIBVIRT_FW") {
			if target == "REJECT" || chainRejects(t, target) {
				evidence = append(evidence, "-A FORWARD "+r)
			}
		}
	}
	if len(evidence) == 0 {
		return nil
	}
	return []Finding{{ID: "reject-above-ufw", Severity: Warning,
		Summary:  "a REJECT catch-all decides before UFW's forward rules: `ufw route allow` cannot open those bridges",
		Evidence: evidence, Fix: "ufw-docker-bridge handles VM bridges in DOCKER-USER (first); or restart libvirt before ufw"}}
}

func chainRejects(t *rules.Table, name string) bool {
	c := t.Chain(name)
	if c == nil {
		return false
	}
	for _, r := range c.Rules {
		if strings.HasSuffix(r, "-j REJECT") || strings.Contains(r, "-j REJECT ") {
			return true
		}
	}
	return false
}
