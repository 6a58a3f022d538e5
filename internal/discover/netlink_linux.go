package discover

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// Netlink lists the bridges of the network namespace the process runs in.
type Netlink struct{}

// Bridges returns every bridge link with its addresses and owner.
func (Netlink) Bridges() ([]Bridge, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	// One dump of every address, not one request per bridge: a host with
	// fifty Docker networks has fifty bridges.
	all, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("listing addresses: %w", err)
	}
	byLink := map[int][]netlink.Addr{}
	for _, ad := range all {
		byLink[ad.LinkIndex] = append(byLink[ad.LinkIndex], ad)
	}
	var out []Bridge
	for _, l := range links {
		if l.Type() != "bridge" {
			continue
		}
		a := l.Attrs()
		b := Bridge{Name: a.Name, Owner: OwnerOf(a.Name), Up: a.Flags&net.FlagUp != 0}
		for _, ad := range byLink[a.Index] {
			ip, ok := netip.AddrFromSlice(ad.IP)
			if !ok || ip.IsLinkLocalUnicast() {
				continue
			}
			ones, _ := ad.Mask.Size()
			b.Addrs = append(b.Addrs, netip.PrefixFrom(ip.Unmap(), ones).String())
		}
		out = append(out, b)
	}
	return sortBridges(out), nil
}
