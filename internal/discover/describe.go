package discover

import (
	"net/netip"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// NAT states of a bridge subnet, as status shows them.
const (
	NATOwner = "owner" // masqueraded by someone else (its owner, the user)
	// NATOwnerPerAddress: someone masquerades addresses inside the subnet,
	// one by one (CNI does it per container).
	NATOwnerPerAddress = "owner (per address)"
	NATOurs            = "ufw-docker-bridge"
	NATNone            = "none" // routed: public, nat-off, or not a guest
)

// OwnersFromNFT reads bridge owners from `nft list ruleset` text: LXD and
// Incus name their chains after the bridge (fwd.lxdbr0), libvirt's nftables
// backend matches its bridges by name.
func OwnersFromNFT(text string) map[string]string {
	out := map[string]string{}
	owner := ""
	for _, line := range strings.Split(text, "\n") {
		w := strings.Fields(line)
		switch {
		case len(w) >= 3 && w[0] == "table":
			owner = map[string]string{"inet lxd": OwnerLXD, "inet incus": OwnerIncus, "inet libvirt_network": OwnerLibvirt, "ip libvirt_network": OwnerLibvirt}[w[1]+" "+w[2]]
		case owner == OwnerLXD || owner == OwnerIncus:
			if len(w) >= 2 && w[0] == "chain" {
				if _, br, ok := strings.Cut(w[1], "."); ok {
					out[br] = owner
				}
			}
		case owner == OwnerLibvirt:
			for i := 0; i+1 < len(w); i++ {
				if w[i] == "iifname" || w[i] == "oifname" {
					out[strings.Trim(w[i+1], `"`)] = owner
				}
			}
		}
	}
	return out
}

// OwnersFromSave reads bridge owners from the live iptables rules: libvirt's
// LIBVIRT_* chains name its bridges with -i/-o.
func OwnersFromSave(filter *rules.Table) map[string]string {
	out := map[string]string{}
	if filter == nil {
		return out
	}
	for _, c := range filter.Chains {
		if !strings.HasPrefix(c.Name, "LIBVIRT_") {
			continue
		}
		for _, r := range c.Rules {
			w := rules.Words(r)
			for _, flag := range []string{"-i", "-o"} {
				if br := rules.Arg(w, flag); br != "" {
					out[br] = OwnerLibvirt
				}
			}
		}
	}
	return out
}

// Describe fills in each bridge's owner (evidence from the live rules wins
// over the name), its role in our rules, and who NATs each of its subnets.
// role is plan.RoleOf for the host's settings and Docker's bridges;
// masqueraded the networks others masquerade; ours the subnets our NAT table
// masquerades.
func Describe(bs []Bridge, owners map[string]string, role func(name string) string, masqueraded, ours []netip.Prefix) []Bridge {
	out := make([]Bridge, len(bs))
	for i, b := range bs {
		if o, ok := owners[b.Name]; ok {
			b.Owner = o
		}
		b.Role = role(b.Name)
		b.NAT = nil
		for _, a := range b.Addrs {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				continue
			}
			p = p.Masked()
			state := NATNone
			switch {
			case plan.Covered(p, masqueraded):
				state = NATOwner
			case plan.Covered(p, ours):
				state = NATOurs
			case inside(p, masqueraded):
				state = NATOwnerPerAddress
			}
			b.NAT = append(b.NAT, p.String()+" "+state)
		}
		out[i] = b
	}
	return out
}

// inside reports whether one of nets lies within n.
func inside(n netip.Prefix, nets []netip.Prefix) bool {
	for _, x := range nets {
		if x.Addr().Is4() == n.Addr().Is4() && x.Bits() >= n.Bits() && n.Contains(x.Addr()) {
			return true
		}
	}
	return false
}
