package doctor

import (
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
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
				hr := HookRule{Position: i + 1, Rule: r, Owner: discover.OwnerOfRule(r)}
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
