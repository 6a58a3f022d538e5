package discover

import (
	"net/netip"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
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
			p := a.Masked()
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
