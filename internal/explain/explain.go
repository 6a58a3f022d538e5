// Package explain walks a recorded ruleset for one packet, offline: nat
// PREROUTING (Docker's DNAT) and our forwards to guests, then filter
// FORWARD or INPUT through every user chain, then our guard, and says which
// rule decided. It reads rules;
// it sends no packet. It is pure.
package explain

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Packet is the first packet of a NEW connection from outside.
type Packet struct {
	Src, Dst netip.Addr
	Proto    string // tcp or udp
	DPort    int
	// InIface is the interface the packet comes in by ("" unknown: an
	// external interface whose name no rule names).
	InIface string
}

// Bridge is a bridge interface and its networks, to route a DNAT'd packet.
type Bridge struct {
	Name     string
	Prefixes []netip.Prefix
}

// Env is the ruleset and host the packet meets.
type Env struct {
	Save    *rules.Dump
	Bridges []Bridge
	// Local are the host's own addresses: a packet to any other address
	// that no DNAT rewrote is routed (FORWARD), not delivered (INPUT).
	Local []netip.Addr
	// Guard is true when our nftables guard table is in place.
	Guard bool
	// GuardBridges are the interface patterns the guard watches.
	GuardBridges []string
	// Sets is our sets table, nil when it is not in place.
	Sets *Sets
	// Forwards are the DNATs of our NAT table's prerouting chain, in order
	// (a zero Forward stands for a rule that is not one), which runs after
	// Docker's DNAT; Unread says which rules could not be read.
	Forwards []plan.Forward
	Unread   []string
}

// Step is one rule that matched on the way, or a chain's policy.
type Step struct {
	Table, Chain string
	// Position is the rule's 1-based position, 0 for the chain policy.
	Position int
	Rule     string
}

// String prints "table chain #n: rule".
func (s Step) String() string {
	if s.Position == 0 {
		return fmt.Sprintf("%s %s: policy %s", s.Table, s.Chain, s.Rule)
	}
	return fmt.Sprintf("%s %s #%d: %s", s.Table, s.Chain, s.Position, s.Rule)
}

// Result is the verdict and how it came about.
type Result struct {
	Verdict string `json:"verdict"` // ACCEPT, DROP or REJECT
	// DNAT is the destination after nat PREROUTING, "" when not rewritten.
	DNAT string `json:"dnat,omitempty"`
	// Path is "FORWARD via IFACE" or "INPUT".
	Path    string   `json:"path"`
	Steps   []string `json:"steps"`
	Decided string   `json:"decided_by"`
	// Uncertain lists rules with matches this walker cannot evaluate; they
	// were taken as not matching.
	Uncertain []string `json:"uncertain,omitempty"`
}

// walker carries the packet's state through the chains.
type walker struct {
	env       Env
	pkt       Packet
	origPort  int
	origDst   netip.Addr
	inIface   string // "" is an external interface, whose name no rule names
	outIface  string
	dnat      bool
	mark      uint32
	table     string
	steps     []Step
	uncertain []string
}

// Explain walks env for pkt.
func Explain(env Env, pkt Packet) Result {
	w := &walker{env: env, pkt: pkt, origPort: pkt.DPort, origDst: pkt.Dst, inIface: pkt.InIface}
	var res Result
	if nat := env.Save.Table("nat"); nat != nil && nat.Chain("PREROUTING") != nil {
		w.table = "nat"
		w.walk(nat, "PREROUTING", 0)
	}
	w.forward()
	filter := env.Save.Table("filter")
	chain := "INPUT"
	switch {
	case w.dnat:
		res.DNAT = fmt.Sprintf("%s:%d", w.pkt.Dst, w.pkt.DPort)
		chain, w.outIface = "FORWARD", w.route()
		res.Path = "FORWARD to " + w.outIface
	case !w.local(w.pkt.Dst):
		chain, w.outIface = "FORWARD", w.route()
		res.Path = "FORWARD to " + w.outIface + " (routed: not an address of this host)"
		if w.outIface == "" {
			res.Path = "FORWARD (routed: not an address of this host, nor of its bridges)"
		}
	default:
		res.Path = "INPUT (the host itself)"
	}
	w.table = "filter"
	verdict, by := "ACCEPT", Step{Table: "filter", Chain: chain, Rule: "ACCEPT"}
	if step, dropped := w.sets(chain); dropped {
		verdict, by = "DROP", step
	} else if filter != nil && filter.Chain(chain) != nil {
		verdict, by = w.walk(filter, chain, 0)
	}
	if verdict == "ACCEPT" && chain == "FORWARD" && env.Guard && w.guarded() && w.mark&guardMark == 0 {
		by = Step{Table: "inet " + rules.GuardTable, Chain: "check", Position: 2, Rule: "drop (no mark: our policy did not see it)"}
		w.steps = append(w.steps, by)
		verdict = "DROP"
	}
	res.Verdict, res.Decided = verdict, by.String()
	for _, s := range w.steps {
		res.Steps = append(res.Steps, s.String())
	}
	res.Uncertain = w.uncertain
	return res
}

// forward applies our NAT table's forwards to a packet no DNAT of Docker's
// rewrote: the first that takes it (its source, protocol and host port, to
// an address of the host) sends it to its guest.
func (w *walker) forward() {
	w.uncertain = append(w.uncertain, w.env.Unread...)
	if w.dnat || !w.local(w.pkt.Dst) || w.pkt.Dst.IsLoopback() {
		return
	}
	for i, f := range w.env.Forwards {
		if !f.Dest.IsValid() || f.Dest.Is4() != w.pkt.Dst.Is4() || int(f.Port) != w.pkt.DPort ||
			!strings.Contains(f.Proto, w.pkt.Proto) || f.Source.IsValid() && !f.Source.Contains(w.pkt.Src) {
			continue
		}
		w.steps = append(w.steps, Step{Table: "inet " + rules.NATTable, Chain: "prerouting", Position: i + 1, Rule: f.String()})
		w.pkt.Dst, w.pkt.DPort, w.dnat = f.Dest, int(f.ToPort), true
		return
	}
}

// route is the bridge whose networks hold the packet's destination, ""
// when none does (it leaves by an external interface).
func (w *walker) route() string {
	out := ""
	for _, b := range w.env.Bridges {
		for _, p := range b.Prefixes {
			if p.Contains(w.pkt.Dst) {
				out = b.Name
			}
		}
	}
	return out
}

// local reports whether a is one of the host's own addresses (loopback
// included).
func (w *walker) local(a netip.Addr) bool {
	return a.IsLoopback() || slices.Contains(w.env.Local, a)
}

func (w *walker) guarded() bool {
	for _, b := range w.env.GuardBridges {
		if ifaceMatch(b, w.outIface) {
			return true
		}
	}
	return false
}

// walk evaluates a chain; it returns a terminal verdict ("" when the chain
// returned) and the step that decided.
func (w *walker) walk(t *rules.Table, name string, depth int) (string, Step) {
	c := t.Chain(name)
	if c == nil || depth > 32 {
		return "", Step{}
	}
	for i, r := range c.Rules {
		ok, target, targetArgs := w.match(r)
		if !ok {
			continue
		}
		step := Step{Table: w.table, Chain: name, Position: i + 1, Rule: r}
		switch target {
		case "":
			continue
		case "ACCEPT", "DROP", "REJECT":
			w.steps = append(w.steps, step)
			return target, step
		case "RETURN":
			w.steps = append(w.steps, step)
			return "", step
		case "LOG":
			w.steps = append(w.steps, step)
		case "MARK":
			w.steps = append(w.steps, step)
			w.applyMark(targetArgs)
		case "DNAT":
			w.steps = append(w.steps, step)
			w.applyDNAT(targetArgs)
			return "ACCEPT", step
		case "MASQUERADE", "SNAT":
		default:
			if t.Chain(target) == nil {
				w.uncertain = append(w.uncertain, fmt.Sprintf("%s #%d: unknown target %s", name, i+1, target))
				continue
			}
			w.steps = append(w.steps, step)
			if v, by := w.walk(t, target, depth+1); v != "" {
				return v, by
			}
		}
	}
	if c.Policy == "-" || c.Policy == "" {
		return "", Step{}
	}
	step := Step{Table: w.table, Chain: name, Rule: c.Policy}
	w.steps = append(w.steps, step)
	return c.Policy, step
}

func (w *walker) applyMark(args []string) {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--set-xmark" || args[i] == "--set-mark" {
			v, m, _ := strings.Cut(args[i+1], "/")
			val, _ := strconv.ParseUint(v, 0, 32)
			mask := uint64(0xffffffff)
			if m != "" {
				mask, _ = strconv.ParseUint(m, 0, 32)
			}
			w.mark = (w.mark &^ uint32(mask)) ^ uint32(val)
		}
	}
}

func (w *walker) applyDNAT(args []string) {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--to-destination" {
			host, port, _ := strings.Cut(args[i+1], ":")
			if a, err := netip.ParseAddr(host); err == nil {
				w.pkt.Dst = a
			}
			if p, err := strconv.Atoi(port); err == nil {
				w.pkt.DPort = p
			}
			w.dnat = true
		}
	}
}

// guardMark is rules.GuardMark as a number: the mark our policy's chains
// set and the guard checks.
var guardMark = markOf(rules.GuardMark)
