// Package discover finds what the host runs: its bridges and who owns them.
package discover

import (
	"net/netip"
	"sort"
)

// Bridge is a bridge interface of the host.
type Bridge struct {
	Name  string         `json:"name"`
	Owner string         `json:"owner"`
	Addrs []netip.Prefix `json:"addrs,omitempty"`
	Up    bool           `json:"up"`
	// Role and NAT are filled in by Describe: what our rules do with the
	// bridge, and "SUBNET owner|ufw-docker-bridge|none" for each subnet.
	Role string   `json:"role,omitempty"`
	NAT  []string `json:"nat,omitempty"`
}

func sortBridges(bs []Bridge) []Bridge {
	sort.Slice(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
	return bs
}
