package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"text/template"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/templates"
)

var setsTmpl = template.Must(template.ParseFS(templates.FS, "sets.nft.tmpl"))

// SetsTable returns the `nft -f` script that brings our sets table to what
// rule set rs and the sets of the state (names) need, without touching the
// sets' elements, and the comment that identifies this version of it. live
// are the nftables sets the table holds now: those of a set no longer in
// names are deleted. Unless create, the script makes no table: it fails
// when the table went since live was read (its sets would come back empty).
//
// The table's forward chain (priority filter - 5, before iptables) sends
// what goes into a container or guest bridge to chain sources: while a set
// a rule names lacks its sentinel element (rules.SetSentinelV4: the set was
// flushed), everything new is dropped there; a source in the set of a deny
// rule is dropped, connections it started included; a NEW connection
// Docker translated whose source is in the set of an allow rule for its
// host port gets rules.SetAllowMark, which that rule's iptables line asks
// for; what runs the chain to its end gets rules.SetsMark, without which
// our iptables chains drop (a flushed chain closes). Its input chain drops
// the sources of deny rules with --host-too.
// Each set is looked up in one step whatever its size (interval sets).
func SetsTable(rs rules.Ruleset, names []string, dockerBridges, live []string, create bool) (script, comment string) {
	ro := rolesOf(rs.Bridges(), dockerBridges)
	data := map[string]any{
		"Table":      rules.SetsTable,
		"Sets":       names,
		"Excluded":   nftNames(ro.excluded),
		"Bridges":    nftNames(slices.Concat(ro.early, ro.containers, ro.guests)),
		"Consulted":  nftMark(rules.SetsMark),
		"Allowed":    nftMark(rules.SetAllowMark),
		"SentinelV4": rules.SetSentinelV4,
		"SentinelV6": rules.SetSentinelV6,
	}
	var checked []string
	for _, n := range SetNames(rs) {
		if slices.Contains(names, n) {
			checked = append(checked, n)
		}
	}
	data["Checked"] = checked
	var denies, allows, hostDenies []string
	for _, r := range rs {
		// A rule whose set the state lacks has nothing to look up: it
		// renders nothing here, and its iptables line meets no mark.
		if r.Set == "" || !slices.Contains(names, r.Set) {
			continue
		}
		for _, f := range r.Families() {
			fam := nftFamily[f]
			src := fam.addr + " saddr @" + r.Set + "-" + fam.suffix
			for _, l4 := range nftPorts(r) {
				switch {
				case r.Action == rules.Deny:
					denies = append(denies, strings.TrimSpace(src+" "+l4))
					if r.HostToo {
						hostDenies = append(hostDenies, strings.TrimSpace(src+" "+l4))
					}
				case r.Action == rules.Allow:
					// The mark says this rule matched in full: its set,
					// host port and protocol, and the host address Docker
					// published on (never loopback). Whichever allow line
					// of ours returns a marked connection, a rule allowed it.
					dst := fam.addr + " daddr != " + loopback[f]
					if r.HostAddr.IsValid() {
						dst = fam.addr + " daddr " + r.HostAddr.String()
					}
					allows = append(allows, strings.TrimSpace(l4+" ct original "+dst+" "+src))
				}
			}
		}
	}
	data["Denies"], data["Allows"], data["HostDenies"] = denies, allows, hostDenies
	sum := sha256.Sum256([]byte(render(data)))
	comment = rules.SetsCommentPrefix + hex.EncodeToString(sum[:6])
	data["Comment"], data["Create"] = comment, create
	var gone []string
	for _, s := range live {
		base, ok := strings.CutSuffix(s, "-v4")
		if !ok {
			base, _ = strings.CutSuffix(s, "-v6")
		}
		if !slices.Contains(names, base) {
			gone = append(gone, s)
		}
	}
	data["Gone"] = gone
	return render(data), comment
}

func render(data map[string]any) string {
	var b bytes.Buffer
	if err := setsTmpl.Execute(&b, data); err != nil {
		panic(fmt.Sprintf("rendering the sets table: %v", err))
	}
	return b.String() + "\n"
}

// SetsRemoval is the `nft -f` script that deletes the sets table, valid
// whether or not it exists.
func SetsRemoval() string {
	return fmt.Sprintf("table inet %[1]s\ndelete table inet %[1]s\n", rules.SetsTable)
}

// SetNames returns the names of the sets rs refers to, sorted, each once.
func SetNames(rs rules.Ruleset) []string {
	var out []string
	for _, r := range rs {
		if r.Set != "" {
			out = append(out, r.Set)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// nftPorts renders the host ports of rule r as nftables matches of the
// connection's original destination (Docker's DNAT changes the packet's),
// one per protocol; [""] for every port.
func nftPorts(r rules.Rule) []string {
	if r.Ports.Any() {
		return []string{""}
	}
	ports := strings.Replace(r.Ports.String(), ":", "-", 1)
	var out []string
	for _, p := range Protos(r.Proto) {
		out = append(out, fmt.Sprintf("meta l4proto %s ct original proto-dst %s", p, ports))
	}
	return out
}

// nftFamily is how nft names a family's addresses and our sets' suffix.
var nftFamily = map[rules.Family]struct{ addr, suffix string }{
	rules.IPv4: {"ip", "v4"},
	rules.IPv6: {"ip6", "v6"},
}

// nftMark spells a mark bit the way nft prints it (0x02000000).
func nftMark(m string) string {
	return fmt.Sprintf("0x%08s", strings.TrimPrefix(m, "0x"))
}
