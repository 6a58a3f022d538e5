package plan

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// ExpandForwards returns rs with every forward rule replaced, where it
// stands, by one rule per address its guest has now (addrs: by guest, as
// the rule names it), each with that address as Dest; a source keeps a rule
// to the addresses of its own family. A guest with no address, or not
// found, renders nothing: the host port stays closed until it has one.
// labels, when not nil, say where each rule of rs comes from
// (ExpandLabelled); the labels of the rules returned come with them.
func ExpandForwards(rs rules.Ruleset, labels []string, addrs map[string][]netip.Addr) (rules.Ruleset, []string) {
	out := make(rules.Ruleset, 0, len(rs))
	var outLabels []string
	add := func(r rules.Rule, i int) {
		out = append(out, r)
		if labels != nil {
			outLabels = append(outLabels, labels[i])
		}
	}
	for i, r := range rs {
		if r.Action != rules.Forward || r.Dest.IsValid() {
			add(r, i)
			continue
		}
		for _, a := range addrs[r.Target] {
			if r.Source.IsValid() && r.Source.Addr().Is4() != a.Is4() {
				continue
			}
			x := r
			x.Dest = a
			add(x, i)
		}
	}
	return out, outLabels
}

// Guests returns the guests the forward rules of rs name, once each.
func Guests(rs rules.Ruleset) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs.Of(rules.Forward) {
		if !seen[r.Target] {
			seen[r.Target] = true
			out = append(out, r.Target)
		}
	}
	return out
}

// forwardAccepts are the rules of our guests chain that let a forward's
// connections through: DNAT'd by us (conntrack's original port is the
// host port) to the guest's address and port, from the rule's source.
func forwardAccepts(rs rules.Ruleset, f rules.Family) []string {
	var out []string
	for _, r := range rs.Of(rules.Forward) {
		if !r.Dest.IsValid() || !r.AppliesTo(f) {
			continue
		}
		src := ""
		if r.Source.IsValid() {
			src = "-s " + r.Source.String() + " "
		}
		dst := netip.PrefixFrom(r.Dest, r.Dest.BitLen())
		var lines []string
		for _, p := range Protos(r.Proto) {
			lines = append(lines, fmt.Sprintf("%s-d %s -p %s -m conntrack --ctstate DNAT --ctorigdstport %d -m %s --dport %d -j ACCEPT",
				src, dst, p, r.Ports.First, p, r.GuestPort()))
		}
		out = append(out, r.Commented(lines)...)
	}
	return out
}

// Protos are the protocols a rule's Proto stands for.
func Protos(p rules.Proto) []rules.Proto {
	if p == rules.ProtoAny {
		return []rules.Proto{rules.TCP, rules.UDP}
	}
	return []rules.Proto{p}
}

// Forward is one DNAT of our NAT table: connections from Source (any when
// invalid) to a host address's Port over Proto go to Dest:ToPort.
type Forward struct {
	Proto  string
	Port   uint16
	Source netip.Prefix
	Dest   netip.Addr
	ToPort uint16
	// Comment is the rule's, rendered as the nft rule's comment.
	Comment string
}

// nft is the forward's DNAT rule in our NAT table's prerouting chain, or in
// its output chain (output: connections of the host's own, whose loopback
// ones cannot leave for a guest).
func (f Forward) nft(output bool) string {
	fam, to := "ip", fmt.Sprintf("%s:%d", f.Dest, f.ToPort)
	if f.Dest.Is6() {
		fam, to = "ip6", fmt.Sprintf("[%s]:%d", f.Dest, f.ToPort)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "meta nfproto %s ", map[string]string{"ip": "ipv4", "ip6": "ipv6"}[fam])
	if f.Source.IsValid() {
		fmt.Fprintf(&b, "%s saddr %s ", fam, f.Source)
	}
	if output {
		fmt.Fprintf(&b, "%s daddr != %s ", fam, map[string]string{"ip": "127.0.0.0/8", "ip6": "::1"}[fam])
	}
	fmt.Fprintf(&b, "fib daddr type local meta l4proto %s th dport %d dnat %s to %s", f.Proto, f.Port, fam, to)
	if f.Comment != "" {
		fmt.Fprintf(&b, " comment %q", f.Comment)
	}
	return b.String()
}

// String is "2222/tcp to 10.1.2.3:22" (and " from SRC").
func (f Forward) String() string {
	proto := f.Proto
	if strings.HasPrefix(proto, "{") {
		proto = "tcp+udp"
	}
	s := fmt.Sprintf("%d/%s to %s", f.Port, proto, netip.AddrPortFrom(f.Dest, f.ToPort))
	if f.Source.IsValid() {
		s += " from " + f.Source.String()
	}
	return s
}

// Forwards returns the DNATs the found forward rules of rs need.
func Forwards(rs rules.Ruleset) []Forward {
	var out []Forward
	for _, r := range rs.Of(rules.Forward) {
		if !r.Dest.IsValid() {
			continue
		}
		proto := "{ tcp, udp }"
		if r.Proto != rules.ProtoAny {
			proto = string(r.Proto)
		}
		out = append(out, Forward{Proto: proto, Port: r.Ports.First, Source: r.Source, Dest: r.Dest, ToPort: r.GuestPort(), Comment: r.Comment})
	}
	return out
}
