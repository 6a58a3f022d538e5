package discover

import (
	"os"
	"os/exec"
)

// IPv6Missing says why this host cannot filter IPv6 with ip6tables (no
// ip6tables-restore installed, a kernel without IPv6), or "" when it can.
func IPv6Missing() string {
	if _, err := exec.LookPath("ip6tables-restore"); err != nil {
		return "ip6tables-restore is not installed"
	}
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		return "the kernel has no IPv6 (ipv6.disable=1, or built without it)"
	}
	return ""
}
