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
	var out []Bridge
	for _, l := range links {
		if l.Type() != "bridge" {
			continue
		}
		a := l.Attrs()
		b := Bridge{Name: a.Name, Owner: OwnerOf(a.Name), Up: a.Flags&net.FlagUp != 0}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return nil, fmt.Errorf("listing addresses of %s: %w", a.Name, err)
		}
		for _, ad := range addrs {
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
