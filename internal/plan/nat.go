package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"text/template"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/templates"
)

var natTmpl = template.Must(template.ParseFS(templates.FS, "nat.nft.tmpl"))

// BridgeNet is a bridge and the networks of its addresses.
type BridgeNet struct {
	Name string
	Nets []netip.Prefix
}

// NATSubnets returns the guest subnets we masquerade: the private networks
// (RFC 1918, 100.64.0.0/10, IPv6 ULA) of the guest bridges that allow NAT
// (rules.Bridges.NAT) which no existing NAT covers. masqueraded are the
// source networks that other rules (the bridge's owner, the user) already
// masquerade; a rule with no source covers everything. So a subnet is NATed
// once: by its owner when it does, else by us; a public subnet is routed,
// never NATed.
func NATSubnets(bridges []BridgeNet, masqueraded []netip.Prefix, settings rules.Bridges) []netip.Prefix {
	var out []netip.Prefix
	for _, b := range bridges {
		if !settings.NAT(b.Name) {
			continue
		}
		for _, n := range b.Nets {
			n = n.Masked()
			if private(n) && !Covered(n, masqueraded) && !Covered(n, out) {
				out = append(out, n)
			}
		}
	}
	return out
}

var privateNets = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fc00::/7"),
}

func private(n netip.Prefix) bool { return Covered(n, privateNets) }

// Covered reports whether one of nets contains all of n.
func Covered(n netip.Prefix, nets []netip.Prefix) bool {
	for _, c := range nets {
		if c.Addr().Is4() == n.Addr().Is4() && c.Bits() <= n.Bits() && c.Contains(n.Addr()) {
			return true
		}
	}
	return false
}

// NAT returns the `nft -f` script that replaces our NAT table in one
// transaction with a masquerade for each subnet and a DNAT for each forward,
// and the comment that identifies this version of it; with neither it
// deletes the table and the comment is "". The masquerade runs after
// iptables' and the owners' NAT (priority srcnat + 10): the first NAT of a
// connection wins, so ours never applies twice. The forwards' DNAT runs in
// prerouting (from outside, from containers and guests) and output (from
// the host itself, not over loopback), at dstnat + 10: after Docker's DNAT,
// so a port Docker publishes stays Docker's.
// (output names no dstnat: -90 is dstnat + 10 there).
func NAT(subnets []netip.Prefix, forwards []Forward) (script, comment string) {
	removal := NATRemoval()
	if len(subnets) == 0 && len(forwards) == 0 {
		return removal, ""
	}
	var v4, v6 []netip.Prefix
	for _, n := range subnets {
		if n.Addr().Is4() {
			v4 = append(v4, n)
		} else {
			v6 = append(v6, n)
		}
	}
	var body bytes.Buffer
	var pre, out []string
	for _, f := range forwards {
		pre, out = append(pre, f.nft(false)), append(out, f.nft(true))
	}
	if err := natTmpl.Execute(&body, map[string]any{"Table": rules.NATTable, "V4": v4, "V6": v6,
		"Prerouting": pre, "Output": out}); err != nil {
		panic(fmt.Sprintf("rendering the nat table: %v", err))
	}
	sum := sha256.Sum256([]byte(body.String()))
	comment = rules.NATCommentPrefix + hex.EncodeToString(sum[:6])
	text := strings.Replace(body.String(), " {\n", fmt.Sprintf(" {\n\tcomment %q\n", comment), 1)
	return removal + text, comment
}

// NATRemoval is the `nft -f` script that deletes our NAT table, valid
// whether or not it exists.
func NATRemoval() string {
	return fmt.Sprintf("table inet %[1]s\ndelete table inet %[1]s\n", rules.NATTable)
}
