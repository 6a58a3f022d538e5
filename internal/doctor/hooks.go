package doctor

import (
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// HookRule is one rule of a built-in chain, with who wrote it.
type HookRule struct {
	Position int    `json:"position"`
	Rule     string `json:"rule"`
	Owner    string `json:"owner"`
	// Counters is "packets:bytes" when known.
	Counters string `json:"counters,omitempty"`
}

// Hook is a built-in chain in evaluation order.
type Hook struct {
	Family string     `json:"family"`
	Table  string     `json:"table"`
	Chain  string     `json:"chain"`
	Policy string     `json:"policy"`
	Rules  []HookRule `json:"rules"`
}

// hooked are the built-in chains status --verbose shows.
var hooked = []struct{ table, chain string }{{"filter", "INPUT"}, {"filter", "FORWARD"}, {"nat", "POSTROUTING"}}

// Hooks lists, per family, every rule of INPUT, FORWARD and POSTROUTING in
// evaluation order with its owner and counters.
func Hooks(saves map[rules.Family]*rules.Dump) []Hook {
	var out []Hook
	for _, f := range rules.Families {
		d := saves[f]
		if d == nil {
			continue
		}
		for _, hk := range hooked {
			c := d.Table(hk.table).Chain(hk.chain)
			if c == nil {
				continue
			}
			h := Hook{Family: f.String(), Table: hk.table, Chain: hk.chain, Policy: c.Policy, Rules: []HookRule{}}
			for i, r := range c.Rules {
				hr := HookRule{Position: i + 1, Rule: r, Owner: OwnerOfRule(r)}
				if i < len(c.Counters) {
					hr.Counters = c.Counters[i]
				}
				h.Rules = append(h.Rules, hr)
			}
			out = append(out, h)
		}
	}
	return out
}

// OwnerOfTable guesses who owns an nftables table ("family name").
func OwnerOfTable(t string) string {
	switch {
	case strings.HasSuffix(t, " "+rules.GuardTable), strings.HasSuffix(t, " "+rules.NATTable):
		return "ufw-docker-bridge"
	case strings.HasSuffix(t, " firewalld"):
		return "firewalld"
	case strings.Contains(t, "docker"):
		return "docker"
	case strings.HasSuffix(t, " lxd"):
		return "lxd"
	case strings.HasSuffix(t, " incus"):
		return "incus"
	case strings.HasSuffix(t, " libvirt_network"), strings.Contains(t, "libvirt"):
		return "libvirt"
	case strings.HasSuffix(t, " netavark"):
		return "podman"
	case strings.HasSuffix(t, " filter"), strings.HasSuffix(t, " nat"), strings.HasSuffix(t, " mangle"), strings.HasSuffix(t, " raw"):
		return "iptables-nft"
	}
	return "unknown"
}
