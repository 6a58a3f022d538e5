package discover

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

var (
	anyV4 = netip.MustParsePrefix("0.0.0.0/0")
	anyV6 = netip.MustParsePrefix("::/0")
)

// MasqueradedSave returns the source networks that the nat table of an
// iptables-save dump (family f) masquerades or SNATs on the way out by an
// uplink (an interface of a default route). A NAT rule without a source
// takes the sources of the rules that jump to its chain (netavark and CNI
// write it so); a chain no sourced rule jumps to covers everything. A rule
// limited to another output interface (-o wg0: a VPN's NAT) covers no
// subnet's way out.
func MasqueradedSave(nat *rules.Table, f rules.Family, uplinks []string) []netip.Prefix {
	if nat == nil {
		return nil
	}
	all := anyV4
	if f == rules.IPv6 {
		all = anyV6
	}
	var out []netip.Prefix
	for _, c := range nat.Chains {
		for _, r := range c.Rules {
			w := rules.Words(r)
			target := rules.Arg(w, "-j")
			if target != "MASQUERADE" && target != "SNAT" || narrow(w, uplinks) {
				continue
			}
			if src, ok := source(w); ok {
				out = append(out, src...)
				continue
			}
			var from []netip.Prefix
			for _, o := range nat.Chains {
				for _, j := range o.Rules {
					jw := strings.Fields(j)
					if rules.Arg(jw, "-j") == c.Name {
						if src, ok := source(jw); ok {
							from = append(from, src...)
						}
					}
				}
			}
			if len(from) == 0 {
				from = []netip.Prefix{all}
			}
			out = append(out, from...)
		}
	}
	return out
}

// narrow reports whether a NAT rule is limited to marked packets (CNI's
// hairpin port forwards), to one destination (Docker's hairpin rules) or to
// an output interface that is not an uplink: such a rule does not NAT a
// subnet's traffic out.
func narrow(w []string, uplinks []string) bool {
	for i, x := range w {
		positive := i == 0 || w[i-1] != "!"
		switch {
		case x == "--mark", x == "-d" && positive:
			return true
		case x == "-o" && positive && i+1 < len(w) && !slices.ContainsFunc(uplinks, func(u string) bool { return rules.IfaceMatches(w[i+1], u) }):
			return true
		}
	}
	return false
}

// source reads the "-s NET" of a rule's words; a negated or missing source
// is reported as not found.
func source(w []string) ([]netip.Prefix, bool) {
	for i := 0; i+1 < len(w); i++ {
		if w[i] == "-s" && (i == 0 || w[i-1] != "!") {
			if p, err := parseNet(w[i+1]); err == nil {
				return []netip.Prefix{p}, true
			}
		}
	}
	return nil, false
}

func parseNet(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// MasqueradedNFT returns the source networks that nft's text NATs out
// (NFTMasquerades, flattened).
func MasqueradedNFT(text, skip string, uplinks []string) []netip.Prefix {
	var out []netip.Prefix
	for _, m := range NFTMasquerades(text, skip, uplinks) {
		out = append(out, m.Nets...)
	}
	return out
}

// narrowNFT is narrow for nft's words: a mark match, a positive
// destination, or a positive output interface that is not an uplink.
func narrowNFT(w []string, uplinks []string) bool {
	for i, x := range w {
		positive := i+1 < len(w) && w[i+1] != "!="
		switch {
		case x == "mark", x == "daddr" && positive:
			return true
		case x == "oifname" && positive && !slices.ContainsFunc(setItems(w[i+1:]), func(o string) bool { return slices.Contains(uplinks, strings.Trim(o, `"`)) }):
			return true
		}
	}
	return false
}

// setItems reads "X" or "{ X, Y }" from the start of w.
func setItems(w []string) []string {
	if len(w) == 0 {
		return nil
	}
	if w[0] != "{" {
		return []string{w[0]}
	}
	var out []string
	for _, s := range w[1:] {
		if s == "}" {
			break
		}
		out = append(out, strings.TrimSuffix(s, ","))
	}
	return out
}

func contains(w []string, s string) bool {
	for _, x := range w {
		if x == s {
			return true
		}
	}
	return false
}
