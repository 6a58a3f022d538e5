package discover

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
)

// Netlink lists the bridges of the network namespace the process runs in.
type Netlink struct{}

// dumpTries is how many times a netlink dump is asked for when the kernel
// says it was interrupted (links or addresses changed meanwhile, as they do
// while Docker starts its containers).
const dumpTries = 5

// Bridges returns every bridge link with its addresses and owner.
func (n Netlink) Bridges() ([]Bridge, error) {
	var out []Bridge
	var err error
	for i := 0; i < dumpTries; i++ {
		if out, err = n.bridges(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return out, err
}

func (Netlink) bridges() ([]Bridge, error) {
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
			b.Addrs = append(b.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
		}
		out = append(out, b)
	}
	return sortBridges(out), nil
}

// LocalAddrs returns every address of every interface of the host (the
// namespace): the destinations it delivers to itself.
func (Netlink) LocalAddrs() ([]netip.Addr, error) {
	var all []netlink.Addr
	var err error
	for i := 0; i < dumpTries; i++ {
		if all, err = netlink.AddrList(nil, netlink.FAMILY_ALL); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("listing addresses: %w", err)
	}
	var out []netip.Addr
	for _, ad := range all {
		if ip, ok := netip.AddrFromSlice(ad.IP); ok {
			out = append(out, ip.Unmap())
		}
	}
	return out, nil
}

// Uplinks returns the interfaces of the default routes (both families): a
// NAT rule limited to one of them covers a subnet's way out.
func (Netlink) Uplinks() ([]string, error) {
	var out []string
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := netlink.RouteList(nil, fam)
		if err != nil {
			return nil, fmt.Errorf("listing routes: %w", err)
		}
		for _, r := range routes {
			if r.Dst != nil && !r.Dst.IP.IsUnspecified() {
				continue
			}
			idx := []int{r.LinkIndex}
			for _, nh := range r.MultiPath {
				idx = append(idx, nh.LinkIndex)
			}
			for _, i := range idx {
				if l, err := netlink.LinkByIndex(i); err == nil && !slices.Contains(out, l.Attrs().Name) {
					out = append(out, l.Attrs().Name)
				}
			}
		}
	}
	return out, nil
}

// RouteIface returns the interface the host routes address a to: the one
// a packet from a comes in by, where the routes are symmetric (what
// explain assumes of routed traffic; rp_filter drops the rest).
func (Netlink) RouteIface(a netip.Addr) (string, error) {
	routes, err := netlink.RouteGet(a.AsSlice())
	if err != nil {
		return "", fmt.Errorf("the route to %s: %w", a, err)
	}
	if len(routes) == 0 {
		return "", fmt.Errorf("no route to %s", a)
	}
	l, err := netlink.LinkByIndex(routes[0].LinkIndex)
	if err != nil {
		return "", fmt.Errorf("the route to %s: %w", a, err)
	}
	return l.Attrs().Name, nil
}
