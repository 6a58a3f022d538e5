// Package discover finds what the host runs: its bridges and who owns them.
package discover

import (
	"regexp"
	"sort"
	"strings"
)

// Bridge is a bridge interface of the host.
type Bridge struct {
	Name  string   `json:"name"`
	Owner string   `json:"owner"`
	Addrs []string `json:"addrs,omitempty"`
	Up    bool     `json:"up"`
	// Role and NAT are filled in by Describe: what our rules do with the
	// bridge, and "SUBNET owner|ufw-docker-bridge|none" for each subnet.
	Role string   `json:"role,omitempty"`
	NAT  []string `json:"nat,omitempty"`
}

// Owners of bridges, as status shows them.
const (
	OwnerDocker  = "docker"
	OwnerLibvirt = "libvirt"
	OwnerLXD     = "lxd"
	OwnerIncus   = "incus"
	OwnerPodman  = "podman"
	OwnerUnknown = "unknown"
)

var dockerNetRe = regexp.MustCompile(`^br-[0-9a-f]{12}$`)

// OwnerOf guesses a bridge's owner from its name, the way each tool names
// its bridges.
func OwnerOf(name string) string {
	switch {
	case name == "docker0" || dockerNetRe.MatchString(name):
		return OwnerDocker
	case strings.HasPrefix(name, "virbr"):
		return OwnerLibvirt
	case strings.HasPrefix(name, "lxdbr"):
		return OwnerLXD
	case strings.HasPrefix(name, "incusbr"):
		return OwnerIncus
	case strings.HasPrefix(name, "podman") || strings.HasPrefix(name, "cni-podman"):
		return OwnerPodman
	}
	return OwnerUnknown
}

func sortBridges(bs []Bridge) []Bridge {
	sort.Slice(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
	return bs
}
