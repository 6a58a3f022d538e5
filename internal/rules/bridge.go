package rules

import "strings"

// Bridge is the action of a bridge setting: how ufw-docker-bridge treats one
// bridge (or, with a trailing "+", every bridge whose name starts so).
const Bridge Action = "bridge"

// BridgeSetting says what a bridge rule does.
type BridgeSetting string

const (
	// BridgeInclude treats a bridge as a guest bridge (VMs, system
	// containers): forwarding out and back, DHCP and DNS to the host, NAT
	// when no one else masquerades its subnet. For bridges whose names no
	// default pattern covers.
	BridgeInclude BridgeSetting = "include"
	// BridgeExclude leaves a bridge entirely to its owner: no rule of ours
	// matches its traffic.
	BridgeExclude BridgeSetting = "exclude"
	// BridgeNoNAT keeps a guest bridge's forwarding but never adds NAT for it.
	BridgeNoNAT BridgeSetting = "nat-off"
)

// GuestBridges are the interface patterns (iptables spelling) of the bridges
// whose owners run guests with their own DHCP and DNS on the host: libvirt,
// LXD, Incus, classic LXC (lxcbr0) and Multipass (mpqemubr0 with QEMU,
// mpbr0 with LXD). Their forwarding, DHCP/DNS and NAT are kept working next
// to Docker's FORWARD DROP policy and UFW's defaults.
var GuestBridges = []string{"virbr+", "lxdbr+", "incusbr+", "lxcbr+", "mpqemubr+", "mpbr+"}

// parseBridge reads "bridge NAME include|exclude|nat-off".
func parseBridge(words []string) (Rule, error) {
	if len(words) != 3 {
		return Rule{}, syntaxf("want: bridge NAME include|exclude|nat-off")
	}
	if err := CheckIface(words[1]); err != nil {
		return Rule{}, err
	}
	switch s := BridgeSetting(words[2]); s {
	case BridgeInclude, BridgeExclude, BridgeNoNAT:
		return Rule{Action: Bridge, Iface: words[1], Setting: s}, nil
	}
	return Rule{}, syntaxf("unknown bridge setting %q (want include, exclude or nat-off)", words[2])
}

// CheckIface accepts a Linux interface name (1-15 bytes of letters, digits,
// "_", "." and "-", not starting with "-"), optionally ending in "+", which
// matches every name starting with what precedes it.
func CheckIface(name string) error {
	base := strings.TrimSuffix(name, "+")
	if base == "" || len(name) > 15 || base[0] == '-' || base == "." || base == ".." {
		return syntaxf("invalid bridge name %q: want an interface name of up to 15 characters", name)
	}
	for _, c := range []byte(base) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			return syntaxf("invalid bridge name %q: %q is not allowed in an interface name", name, c)
		}
	}
	return nil
}

// IfaceMatches reports whether the interface name matches pattern (an exact
// name, or a prefix ending in "+").
func IfaceMatches(pattern, name string) bool {
	if p, ok := strings.CutSuffix(pattern, "+"); ok {
		return strings.HasPrefix(name, p)
	}
	return pattern == name
}

// Bridges is what the bridge rules of a rule set say, in rule order.
type Bridges struct {
	// Guests are the guest bridge patterns: the defaults, then the included
	// ones.
	Guests []string
	// Excluded are left to their owners; they win over Guests.
	Excluded []string
	// NoNAT are guest bridges we never add NAT for.
	NoNAT []string
}

// Bridges collects the bridge settings of rs.
func (rs Ruleset) Bridges() Bridges {
	b := Bridges{Guests: append([]string{}, GuestBridges...)}
	for _, r := range rs.Of(Bridge) {
		switch r.Setting {
		case BridgeInclude:
			b.Guests = append(b.Guests, r.Iface)
		case BridgeExclude:
			b.Excluded = append(b.Excluded, r.Iface)
		case BridgeNoNAT:
			b.NoNAT = append(b.NoNAT, r.Iface)
		}
	}
	return b
}

// Guest reports whether the bridge named name is a guest bridge of ours:
// matched by a guest pattern and by no exclusion.
func (b Bridges) Guest(name string) bool {
	return MatchesAny(b.Guests, name) && !MatchesAny(b.Excluded, name)
}

// NAT reports whether we may add NAT for the guest bridge named name.
func (b Bridges) NAT(name string) bool { return b.Guest(name) && !MatchesAny(b.NoNAT, name) }

// MatchesAny reports whether one of the interface patterns matches name.
func MatchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if IfaceMatches(p, name) {
			return true
		}
	}
	return false
}
