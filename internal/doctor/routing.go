package doctor

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// checkForwarding: ip_forward off with bridges present; FORWARD policy
// ACCEPT where Docker expects DROP.
func checkForwarding(h Host) []Finding {
	var out []Finding
	if h.Sysctl["net.ipv4.ip_forward"] == "0" && len(h.Bridges) > 0 {
		out = append(out, Finding{ID: "ip-forward-off", Severity: Error,
			Summary:  "net.ipv4.ip_forward is 0: containers and guests on " + strings.Join(h.Bridges, ", ") + " have no network",
			Evidence: []string{"net.ipv4.ip_forward = 0"}, Fix: "sysctl -w net.ipv4.ip_forward=1 (and set it in /etc/ufw/sysctl.conf)"})
	}
	// Next to firewalld, its own nftables chains decide routed traffic.
	fix := h.Firewall.Profile().ForwardPolicyFix
	if t := filter(h, rules.IPv4); t != nil && plan.DockerManaged(t) && fix != "" {
		if c := t.Chain(rules.ChainForwardBuiltin); c != nil && c.Policy == "ACCEPT" {
			out = append(out, Finding{ID: "forward-policy-accept", Severity: Warning,
				Summary:  "FORWARD's policy is ACCEPT next to Docker: routed traffic that no rule drops passes",
				Evidence: []string{":FORWARD ACCEPT"}, Fix: fix})
		}
	}
	return out
}

// checkBridgeNF: bridged packets also cross FORWARD.
func checkBridgeNF(h Host) []Finding {
	if h.Sysctl["net.bridge.bridge-nf-call-iptables"] != "1" || len(h.Bridges) == 0 {
		return nil
	}
	return []Finding{{ID: "bridge-nf-call-iptables", Severity: Info,
		Summary:  "net.bridge.bridge-nf-call-iptables is 1: traffic between ports of one bridge also crosses FORWARD",
		Evidence: []string{"net.bridge.bridge-nf-call-iptables = 1"}, Fix: "nothing to do unless same-bridge traffic is blocked"}}
}

// checkMasquerade: more than one NAT path (an iptables chain or an nftables
// chain) masquerading one source subnet. The several rules of one chain of
// an owner (libvirt's tcp, udp and the rest) are one path; each rule of a
// built-in chain, where every tool and the user's files append, is its own.
func checkMasquerade(h Host) []Finding {
	paths := map[string][]string{}
	add := func(subnet, path, evidence string) {
		for _, p := range paths[subnet] {
			if strings.HasPrefix(p, path+": ") {
				return
			}
		}
		paths[subnet] = append(paths[subnet], path+": "+evidence)
	}
	if d := h.Saves[rules.IPv4]; d != nil && d.Table("nat") != nil {
		for _, c := range d.Table("nat").Chains {
			for i, r := range c.Rules {
				// Docker's per-port hairpin rules (-s X/32 -d X/32) are not NAT
				// of a subnet; libvirt's "-s N ! -d N" is.
				hairpin := field(r, "-d") == field(r, "-s") && !strings.Contains(r, "! -d")
				path := "iptables nat " + c.Name
				if c.Policy == "ACCEPT" || c.Policy == "DROP" {
					path += fmt.Sprintf(" rule %d", i+1)
				}
				if s := field(r, "-s"); strings.Contains(r, "-j MASQUERADE") && !hairpin && s != "" {
					add(s, path, "-A "+c.Name+" "+r)
				}
			}
		}
	}
	// What NATs a subnet out in nftables, as our NAT reads it (iptables-nft's
	// own nat tables are counted from iptables-save above).
	for _, m := range discover.NFTMasquerades(h.NFT, "", h.Uplinks) {
		for _, n := range m.Nets {
			if n.Bits() > 0 {
				add(n.String(), "nft "+m.Table+" "+m.Chain, m.Text)
			}
		}
	}
	var out []Finding
	var subnets []string
	for s := range paths {
		subnets = append(subnets, s)
	}
	sort.Strings(subnets)
	for _, s := range subnets {
		if len(paths[s]) > 1 {
			out = append(out, Finding{ID: "duplicate-masquerade", Severity: Warning,
				Summary:  fmt.Sprintf("%s is masqueraded by %d NAT paths", s, len(paths[s])),
				Evidence: paths[s], Fix: "remove the rules that are not the bridge owner's (ufw-docker-bridge adds NAT only where no one else does)"})
		}
	}
	return out
}

// checkGuestsBlocked: a bridge whose owner (LXD, Incus, libvirt's nftables
// backend) accepts its guests' traffic in an nftables table of its own, next
// to an iptables FORWARD policy of DROP (Docker's, UFW's) and without our
// guest rules: an nftables accept does not override another table's drop, so
// the guests get no DHCP, no DNS and no egress.
func checkGuestsBlocked(h Host) []Finding {
	t := filter(h, rules.IPv4)
	if t == nil || t.Chain(rules.ChainForwardBuiltin) == nil || t.Chain(rules.ChainForwardBuiltin).Policy != "DROP" {
		return nil
	}
	var out []Finding
	owners := discover.OwnersFromNFT(h.NFT)
	var names []string
	for br := range owners {
		names = append(names, br)
	}
	sort.Strings(names)
	for _, br := range names {
		if h.Installed[rules.IPv4] && h.Rules.Bridges().Guest(br) && t.Chain(rules.ChainGuests) != nil {
			continue
		}
		out = append(out, Finding{ID: "guests-blocked", Severity: Error,
			Summary:  fmt.Sprintf("%s guests on %s get no DHCP, DNS or egress: its nftables accepts do not override iptables' FORWARD DROP and UFW's INPUT", owners[br], br),
			Evidence: []string{":FORWARD DROP", "nftables chains of " + owners[br] + " for " + br},
			Fix:      "ufw-docker-bridge install (or, for a bridge of another name, ufw-docker-bridge bridge " + br + " include)"})
	}
	return out
}
