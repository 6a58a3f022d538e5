package plan

import (
	"fmt"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// MaxEditLines is the largest edit Edit returns; a larger change is cheaper
// as a flush and refill.
const MaxEditLines = 200

// Edit returns the iptables-restore --noflush input that turns the named
// chains of live into those of want with positional deletes and inserts of
// the rules between each chain's common prefix and suffix, leaving the rest
// in place. An allow or delete changes a few rules of a long chain, and
// iptables-nft applies such an edit several times faster than a flush and
// refill of the chain (it needs no full cache). ok is false when a chain is
// missing live (only a full restore can declare it) or when the edit has
// more than MaxEditLines lines: each positional insert costs more than an
// appended rule (10,000 inserts take seconds, a refill of 10,000 rules a
// fraction of one). An empty input with ok means the chains already match.
func Edit(want, live *rules.Table, names ...string) (input string, ok bool) {
	var b strings.Builder
	lines := 0
	for _, name := range names {
		w, l := want.Chain(name), live.Chain(name)
		if w == nil {
			continue
		}
		if l == nil {
			return "", false
		}
		p := 0
		for p < len(w.Rules) && p < len(l.Rules) && w.Rules[p] == l.Rules[p] {
			p++
		}
		s := 0
		for s < len(w.Rules)-p && s < len(l.Rules)-p && w.Rules[len(w.Rules)-1-s] == l.Rules[len(l.Rules)-1-s] {
			s++
		}
		lines += len(l.Rules) - s - p + len(w.Rules) - s - p
		if lines > MaxEditLines {
			return "", false
		}
		for i := p; i < len(l.Rules)-s; i++ {
			fmt.Fprintf(&b, "-D %s %d\n", name, p+1)
		}
		for i, r := range w.Rules[p : len(w.Rules)-s] {
			fmt.Fprintf(&b, "-I %s %d %s\n", name, p+1+i, r)
		}
	}
	if b.Len() == 0 {
		return "", true
	}
	return "*filter\n" + b.String() + "COMMIT\n", true
}
