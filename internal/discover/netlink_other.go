//go:build !linux

package discover

import (
	"errors"
	"net/netip"
)

// Netlink lists bridges; only Linux has them.
type Netlink struct{}

// Bridges fails: bridges are a Linux feature.
func (Netlink) Bridges() ([]Bridge, error) {
	return nil, errors.New("bridges are only listed on linux")
}

// LocalAddrs fails: the lab and the host are Linux.
func (Netlink) LocalAddrs() ([]netip.Addr, error) {
	return nil, errors.New("addresses are only listed on linux")
}

// Uplinks fails: the lab and the host are Linux.
func (Netlink) Uplinks() ([]string, error) {
	return nil, errors.New("routes are only listed on linux")
}

// RouteIface fails: the lab and the host are Linux.
func (Netlink) RouteIface(netip.Addr) (string, error) {
	return "", errors.New("routes are only read on linux")
}
