package plan

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Who a published port is open to, as status --ports says it.
const (
	OpenEveryone = "everyone"
	OpenClosed   = "closed"
	OpenLocal    = "this host only"
	OpenNoPolicy = "everyone (not installed: Docker's rules decide)"
)

// Exposure says who reaches host port port/proto, published on host
// address addr (the zero Addr: every address), under rule set rs: everyone,
// the sources of the allow rules that take it (less the deny rules' sources,
// said after "except"), or closed; and the rules that decide, numbered as
// list numbers them, or as labels say (ExpandLabelled). A port bound to a
// loopback address is this host's only: no rule opens it (PublishedOnly).
func Exposure(rs rules.Ruleset, labels []string, addr netip.Addr, port uint16, proto string) (openTo string, decidedBy []string) {
	if addr.IsValid() && addr.IsLoopback() {
		return OpenLocal, []string{"bound to " + addr.String()}
	}
	var sources, except []string
	everyone := false
	for i, r := range rs {
		if (r.Action != rules.Allow && r.Action != rules.Deny) || !takes(r, addr, port, proto) {
			continue
		}
		rule := fmt.Sprintf("%d: %s", i+1, r)
		if i < len(labels) {
			rule = labels[i]
		}
		src := source(r)
		switch {
		case r.Action == rules.Deny:
			except = append(except, src)
			decidedBy = append(decidedBy, rule)
		case src == "":
			everyone = true
			decidedBy = append(decidedBy, rule)
		default:
			sources = append(sources, src)
			decidedBy = append(decidedBy, rule)
		}
	}
	switch {
	case everyone:
		openTo = OpenEveryone
	case len(sources) > 0:
		openTo = strings.Join(sources, ", ")
	default:
		return OpenClosed, []string{"no allow rule takes it"}
	}
	if len(except) > 0 {
		openTo += " except " + strings.Join(except, ", ")
	}
	return openTo, decidedBy
}

// takes reports whether rule r applies to host port port/proto on addr:
// its ports and protocol, and the family of its source.
func takes(r rules.Rule, addr netip.Addr, port uint16, proto string) bool {
	if !r.Ports.Any() && (port < r.Ports.First || port > r.Ports.Last) {
		return false
	}
	if r.Proto != rules.ProtoAny && string(r.Proto) != proto {
		return false
	}
	// A port bound to one family's address takes that family's sources only.
	return !addr.IsValid() || addr.IsUnspecified() || !r.Source.IsValid() || r.Source.Addr().Is4() == addr.Is4()
}

// source is how a rule's source reads: "" for any.
func source(r rules.Rule) string {
	switch {
	case r.Set != "":
		return rules.SetMark + r.Set
	case r.Source.IsValid():
		return rules.FormatPrefix(r.Source)
	}
	return ""
}

// PortNumber reads a published port ("8080", or a range's first port).
func PortNumber(s string) (uint16, bool) {
	first, _, _ := strings.Cut(s, ":")
	n, err := strconv.ParseUint(first, 10, 16)
	return uint16(n), err == nil && n > 0
}

// ForwardExposure says who reaches the host port of rs[i], a found forward
// (Dest valid), over proto: its source, less the sources of the deny rules
// that take that port; and the rules that decide (labels as for Exposure).
func ForwardExposure(rs rules.Ruleset, labels []string, i int, proto string) (openTo string, decidedBy []string) {
	var sub rules.Ruleset
	var subLabels []string
	for j, r := range rs {
		label := fmt.Sprintf("%d: %s", j+1, r)
		if j < len(labels) {
			label = labels[j]
		}
		switch {
		case j == i:
			sub, subLabels = append(sub, rules.Rule{Action: rules.Allow, Ports: r.Ports, Proto: r.Proto, Source: r.Source}), append(subLabels, label)
		case r.Action == rules.Deny:
			sub, subLabels = append(sub, r), append(subLabels, label)
		}
	}
	return Exposure(sub, subLabels, netip.Addr{}, rs[i].Ports.First, proto)
}
