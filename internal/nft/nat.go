package nft

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/runner"
)

// Saver reads one table of the live iptables ruleset (iptables.Tables).
type Saver interface {
	Save(ctx context.Context, f rules.Family, table string) (*rules.Table, error)
}

// NAT keeps our NAT table: a masquerade for each guest subnet that nothing
// else masquerades (plan.NATSubnets), computed from the live bridges and the
// live NAT rules of iptables and nftables.
type NAT struct {
	Runner  runner.Runner
	Tables  Saver
	Bridges func() ([]discover.Bridge, error)
	// List returns the names of the inet tables (ListTables); nil means
	// ask nft.
	List func() ([]string, error)
	// Uplinks returns the interfaces of the default routes
	// (discover.Netlink); nil means none is known, and then no NAT rule
	// limited to an output interface covers a subnet.
	Uplinks func() ([]string, error)
	// Families are the families whose nat tables can be read (nil: both;
	// IPv4 alone on a host without ip6tables).
	Families []rules.Family
	// All returns every nftables table, "FAMILY NAME" (AllTables); nil
	// makes Read ask `nft list ruleset`.
	All func() ([]string, error)
	// Sums is where the table's listing is remembered after each write.
	Sums Sums
}

func (n NAT) table() table {
	return table{runner: n.Runner, name: rules.NATTable, sums: n.Sums, commentOf: tableComment}
}

// Subnets returns the guest subnets that need our NAT now.
func (n NAT) Subnets(ctx context.Context, settings rules.Bridges) ([]netip.Prefix, error) {
	bridges, err := n.Bridges()
	if err != nil {
		return nil, err
	}
	nets := BridgeNets(bridges)
	// Most hosts have no guest subnet at all: then nothing needs reading.
	if len(plan.NATSubnets(nets, nil, settings)) == 0 {
		return nil, nil
	}
	masq, err := n.Masqueraded(ctx)
	if err != nil {
		return nil, err
	}
	return plan.NATSubnets(nets, masq, settings), nil
}

// BridgeNets turns discovered bridges into the plan's bridges and networks.
func BridgeNets(bridges []discover.Bridge) []plan.BridgeNet {
	var nets []plan.BridgeNet
	for _, b := range bridges {
		bn := plan.BridgeNet{Name: b.Name, Nets: b.Addrs}
		nets = append(nets, bn)
	}
	return nets
}

// Masqueraded returns the source networks that NAT rules other than ours
// masquerade, in iptables (both families) and in nftables. Of nftables it
// lists only the tables that hold a postrouting nat chain (`nft list
// chains` first): `nft list ruleset` reads every element of every set, a
// second and more beside a block list of 100,000 networks, and this runs
// in every pass of the watcher on a host with a guest subnet.
func (n NAT) Masqueraded(ctx context.Context) ([]netip.Prefix, error) {
	masq, uplinks, err := n.iptablesMasq(ctx)
	if err != nil {
		return nil, err
	}
	text, err := n.natTables(ctx)
	if err != nil {
		return nil, err
	}
	return append(masq, discover.MasqueradedNFT(text, "inet "+rules.NATTable, uplinks)...), nil
}

// Read returns what Masqueraded returns, read from the whole nftables
// ruleset but our sets table (whose elements nft would read first, a
// second with 100,000), and that text (status reads owners of bridges in
// it).
func (n NAT) Read(ctx context.Context) (masq []netip.Prefix, ruleset string, err error) {
	masq, uplinks, err := n.iptablesMasq(ctx)
	if err != nil {
		return nil, "", err
	}
	text, err := n.ruleset(ctx)
	if err != nil {
		return nil, "", err
	}
	return append(masq, discover.MasqueradedNFT(text, "inet "+rules.NATTable, uplinks)...), text, nil
}

// ruleset lists every nftables table but our sets table, one `nft list
// table` each (a table gone meanwhile left out); `nft list ruleset` when
// All is not set.
func (n NAT) ruleset(ctx context.Context) (string, error) {
	if n.All == nil {
		text, err := n.Runner.Run(ctx, "nft", []string{"list", "ruleset"}, nil)
		if err != nil {
			return "", fmt.Errorf("reading the nftables ruleset: %w", err)
		}
		return string(text), nil
	}
	tables, err := n.All()
	if err != nil {
		return "", err
	}
	var text strings.Builder
	for _, t := range tables {
		if t != "inet "+rules.SetsTable {
			if err := n.listTable(ctx, t, &text); err != nil {
				return "", err
			}
		}
	}
	return text.String(), nil
}

// listTable writes `nft list table FAMILY NAME` of t to w; a table gone
// meanwhile writes nothing.
func (n NAT) listTable(ctx context.Context, t string, w *strings.Builder) error {
	fam, name, _ := strings.Cut(t, " ")
	listing, err := n.Runner.Run(ctx, "nft", []string{"list", "table", fam, name}, nil)
	if err != nil {
		if strings.Contains(err.Error(), "No such file or directory") {
			return nil
		}
		return fmt.Errorf("reading table %s: %w", t, err)
	}
	w.Write(listing)
	return nil
}

// iptablesMasq returns the source networks iptables' nat tables
// masquerade, and the uplinks they were judged against.
func (n NAT) iptablesMasq(ctx context.Context) (masq []netip.Prefix, uplinks []string, err error) {
	if n.Uplinks != nil {
		if uplinks, err = n.Uplinks(); err != nil {
			return nil, nil, err
		}
	}
	fams := n.Families
	if fams == nil {
		fams = rules.Families
	}
	for _, f := range fams {
		nat, err := n.Tables.Save(ctx, f, "nat")
		if err != nil {
			return nil, nil, fmt.Errorf("reading the %s nat table: %w", f, err)
		}
		masq = append(masq, discover.MasqueradedSave(nat, f, uplinks)...)
	}
	return masq, uplinks, nil
}

// natTables lists, as nft does, the nftables tables other than ours that
// hold a postrouting nat chain (found with `nft list chains`, which reads
// no set element); a table gone meanwhile is left out.
func (n NAT) natTables(ctx context.Context) (string, error) {
	out, err := n.Runner.Run(ctx, "nft", []string{"list", "chains"}, nil)
	if err != nil {
		return "", fmt.Errorf("reading the nftables chains: %w", err)
	}
	var text strings.Builder
	for _, t := range postroutingTables(string(out)) {
		if t != "inet "+rules.NATTable {
			if err := n.listTable(ctx, t, &text); err != nil {
				return "", err
			}
		}
	}
	return text.String(), nil
}

// postroutingTables reads `nft list chains` output: the tables ("FAMILY
// NAME") that hold a chain of type nat at the postrouting hook.
func postroutingTables(chains string) []string {
	var out []string
	table := ""
	for _, line := range strings.Split(chains, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "table":
			table = f[1] + " " + f[2]
		case len(f) >= 4 && f[0] == "type" && f[1] == "nat" && f[2] == "hook" && f[3] == "postrouting" && !slices.Contains(out, table):
			out = append(out, table)
		}
	}
	return out
}

// Ensure puts the NAT table the live host needs in place, with the DNAT of
// forwards (or removes it when no subnet and no forward needs it) and says
// what it changed.
func (n NAT) Ensure(ctx context.Context, settings rules.Bridges, forwards []plan.Forward) ([]string, error) {
	subnets, err := n.Subnets(ctx, settings)
	if err != nil {
		return nil, err
	}
	script, comment := plan.NAT(subnets, forwards)
	if len(subnets) == 0 && len(forwards) == 0 && n.List != nil {
		// The common case: no guest subnet needs NAT, and no table of ours
		// is there to remove.
		if names, err := n.List(); err == nil && !slices.Contains(names, rules.NATTable) {
			return nil, nil
		}
	}
	if ok, err := n.table().intact(ctx, comment); err != nil || ok {
		return nil, err
	}
	if err := n.table().apply(ctx, script); err != nil {
		return nil, err
	}
	if len(subnets) == 0 && len(forwards) == 0 {
		return []string{"nat: no guest subnet or forward needs our NAT: table inet " + rules.NATTable + " removed"}, nil
	}
	var s, fs []string
	for _, p := range subnets {
		s = append(s, p.String())
	}
	for _, f := range forwards {
		fs = append(fs, f.String())
	}
	var msgs []string
	if len(s) > 0 {
		msgs = append(msgs, "nat: masquerading guest subnets no one else masquerades: "+strings.Join(s, ", "))
	}
	if len(fs) > 0 {
		msgs = append(msgs, "nat: forwarding "+strings.Join(fs, ", "))
	}
	return msgs, nil
}

// Script returns the `nft -f` script Ensure would apply now.
func (n NAT) Script(ctx context.Context, settings rules.Bridges, forwards []plan.Forward) (string, error) {
	subnets, err := n.Subnets(ctx, settings)
	if err != nil {
		return "", err
	}
	script, _ := plan.NAT(subnets, forwards)
	return script, nil
}

// Remove deletes the NAT table; a missing table is not an error.
func (n NAT) Remove(ctx context.Context) error { return n.table().apply(ctx, plan.NATRemoval()) }
