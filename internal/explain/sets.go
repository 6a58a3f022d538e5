package explain

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Sets is what our sets table decides (plan.SetsTable): the rules that
// name a set, each set's live members, and the bridges its forward chain
// sends to its sources chain.
type Sets struct {
	Rules   []rules.Rule
	Members map[string][]netip.Prefix
	Bridges []string
}

// sets applies the sets table to the packet on path chain (FORWARD or
// INPUT), as its hooks run before iptables' filter: the mark it sets, or
// the deny that drops the packet (ok).
func (w *walker) sets(chain string) (by Step, dropped bool) {
	s := w.env.Sets
	if s == nil {
		return Step{}, false
	}
	into := slices.ContainsFunc(s.Bridges, func(b string) bool { return ifaceMatch(b, w.outIface) })
	// What runs the sources chain to its end is marked as consulted.
	if chain == "FORWARD" && into {
		defer func() {
			if !dropped {
				w.mark |= setsMark
			}
		}()
	}
	for _, r := range s.Rules {
		if !w.member(r.Set) || !w.ports(r) {
			continue
		}
		step := Step{Table: "inet " + rules.SetsTable, Chain: "sources", Position: 1, Rule: r.String()}
		switch {
		case r.Action == rules.Deny && (chain == "FORWARD" && into || chain == "INPUT" && r.HostToo):
			if chain == "INPUT" {
				step.Chain = "input"
			}
			w.steps = append(w.steps, step)
			return step, true
		case r.Action == rules.Allow && chain == "FORWARD" && into && w.dnat && w.published(r):
			w.mark |= setAllowMark
		}
	}
	return Step{}, false
}

// published reports whether the packet's original destination is one that
// allow rule r opens: the host address Docker published on where the rule
// has one, else any but loopback, in the rule's family.
func (w *walker) published(r rules.Rule) bool {
	if r.HostAddr.IsValid() {
		return w.origDst == r.HostAddr
	}
	f := rules.IPv4
	if !w.origDst.Is4() {
		f = rules.IPv6
	}
	return r.AppliesTo(f) && !w.origDst.IsLoopback()
}

// member reports whether the packet's source is in set name.
func (w *walker) member(name string) bool {
	return slices.ContainsFunc(w.env.Sets.Members[name], func(p netip.Prefix) bool { return p.Contains(w.pkt.Src) })
}

// ports reports whether rule r's host ports and protocol take the packet.
func (w *walker) ports(r rules.Rule) bool {
	if r.Ports.Any() {
		return true
	}
	return (r.Proto == rules.ProtoAny || string(r.Proto) == w.pkt.Proto) &&
		w.origPort >= int(r.Ports.First) && w.origPort <= int(r.Ports.Last)
}

// setsMark and setAllowMark are rules.SetsMark and rules.SetAllowMark as
// numbers.
var setsMark, setAllowMark = markOf(rules.SetsMark), markOf(rules.SetAllowMark)

func markOf(s string) uint32 {
	m, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		panic("a mark of ours is not a number: " + s)
	}
	return uint32(m)
}
