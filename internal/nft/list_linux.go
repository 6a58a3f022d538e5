package nft

import (
	"fmt"
	"strings"

	"github.com/google/nftables"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// ListTables returns the names of the kernel's nftables tables of family
// inet (AllTables' inet ones): about a hundred times cheaper than starting
// nft, which matters in the watcher's every pass.
func ListTables() ([]string, error) {
	all, err := AllTables()
	var out []string
	for _, t := range all {
		if name, ok := strings.CutPrefix(t, "inet "); ok {
			out = append(out, name)
		}
	}
	return out, err
}

// AllTables returns every nftables table as "FAMILY NAME" (inet
// ufw-docker-bridge, ip nat), read over netlink: `nft list tables` reads
// every element of every set first, half a second beside a block list of
// 100,000 networks.
func AllTables() ([]string, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("opening nftables netlink: %w", err)
	}
	defer c.CloseLasting()
	ts, err := c.ListTables()
	if err != nil {
		return nil, fmt.Errorf("listing nftables tables: %w", err)
	}
	families := map[nftables.TableFamily]string{nftables.TableFamilyINet: "inet", nftables.TableFamilyIPv4: "ip",
		nftables.TableFamilyIPv6: "ip6", nftables.TableFamilyARP: "arp", nftables.TableFamilyBridge: "bridge", nftables.TableFamilyNetdev: "netdev"}
	var out []string
	for _, t := range ts {
		if f, ok := families[t.Family]; ok {
			out = append(out, f+" "+t.Name)
		}
	}
	return out, nil
}

// DockerNFT reports, per family, whether Docker's nftables table is there:
// Docker runs its nftables firewall backend (Docker 29 and later, with
// "firewall-backend": "nftables") and makes no DOCKER-USER of its own.
func DockerNFT() (map[rules.Family]bool, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("opening nftables netlink: %w", err)
	}
	defer c.CloseLasting()
	out := map[rules.Family]bool{}
	for f, fam := range map[rules.Family]nftables.TableFamily{rules.IPv4: nftables.TableFamilyIPv4, rules.IPv6: nftables.TableFamilyIPv6} {
		ts, err := c.ListTablesOfFamily(fam)
		if err != nil {
			return nil, fmt.Errorf("listing nftables tables: %w", err)
		}
		for _, t := range ts {
			out[f] = out[f] || t.Name == rules.DockerNFTTable
		}
	}
	return out, nil
}

// DockerNFTChains returns the names of the chains of Docker's nftables
// tables (both families; none where Docker runs its iptables backend).
func DockerNFTChains() ([]string, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("opening nftables netlink: %w", err)
	}
	defer c.CloseLasting()
	chains, err := c.ListChains()
	if err != nil {
		return nil, fmt.Errorf("listing nftables chains: %w", err)
	}
	var out []string
	for _, ch := range chains {
		fam := ch.Table.Family
		if ch.Table.Name == rules.DockerNFTTable && (fam == nftables.TableFamilyIPv4 || fam == nftables.TableFamilyIPv6) {
			out = append(out, ch.Name)
		}
	}
	return out, nil
}
