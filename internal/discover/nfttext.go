package discover

import (
	"net/netip"
	"strings"
)

// NFTLine is one line of `nft list ruleset` text inside a table, with the
// table ("family name") and the chain it is in ("" outside a chain; a
// chain's own "chain NAME {" line is in that chain).
type NFTLine struct {
	Table, Chain, Text string
	Words              []string
}

// ScanNFT is the one reader of nft's text: it returns the lines inside
// tables with where they are.
func ScanNFT(text string) []NFTLine {
	var out []NFTLine
	table, chain := "", ""
	for _, line := range strings.Split(text, "\n") {
		w := strings.Fields(line)
		switch {
		case len(w) >= 3 && w[0] == "table":
			table, chain = w[1]+" "+w[2], ""
			continue
		case len(w) >= 2 && w[0] == "chain":
			chain = w[1]
		case table == "":
			continue
		}
		out = append(out, NFTLine{Table: table, Chain: chain, Text: strings.TrimSpace(line), Words: w})
	}
	return out
}

// NFTMasquerade is a rule of nft's text that masquerades or SNATs the
// traffic of source networks out of an uplink.
type NFTMasquerade struct {
	NFTLine
	Nets []netip.Prefix
}

// NFTMasquerades returns the rules of nft's text that NAT source networks
// out, leaving out the table named skip (ours, "inet NAME") and
// iptables-nft's nat tables (read from iptables-save). A rule without
// "saddr" covers every address of its family; one limited to a mark, a
// destination or an output interface that is not an uplink NATs no
// subnet's traffic out, and is left out too.
func NFTMasquerades(text, skip string, uplinks []string) []NFTMasquerade {
	var out []NFTMasquerade
	for _, l := range ScanNFT(text) {
		w := l.Words
		if l.Table == skip || l.Table == "ip nat" || l.Table == "ip6 nat" || !(contains(w, "masquerade") || contains(w, "snat")) || narrowNFT(w, uplinks) {
			continue
		}
		m := NFTMasquerade{NFTLine: l}
		found := false
		for i := 0; i+1 < len(w); i++ {
			if w[i] != "saddr" {
				continue
			}
			found = true
			for _, s := range setItems(w[i+1:]) {
				if p, err := parseNet(s); err == nil {
					m.Nets = append(m.Nets, p)
				}
			}
		}
		if !found {
			family, _, _ := strings.Cut(l.Table, " ")
			if family != "ip6" {
				m.Nets = append(m.Nets, anyV4)
			}
			if family != "ip" {
				m.Nets = append(m.Nets, anyV6)
			}
		}
		out = append(out, m)
	}
	return out
}
