package firewalld

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is firewalld's version, major.minor.patch.
type Version [3]int

// ParseVersion reads "1.3.3" (a missing part is 0).
func ParseVersion(s string) (Version, error) {
	var v Version
	parts := strings.SplitN(strings.TrimSpace(s), ".", 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, fmt.Errorf("invalid firewalld version %q", s)
		}
		v[i] = n
	}
	return v, nil
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v[0] > major || (v[0] == major && v[1] >= minor)
}

// String prints major.minor.patch.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

// Info is what firewalld runs, and what it can do.
type Info struct {
	Version Version
	// State is RUNNING once firewalld has loaded its configuration.
	State string
	// Backend is nftables or iptables.
	Backend string
	// FlushAllOnReload: a reload also drops runtime-only settings.
	FlushAllOnReload bool
}

// Policies reports whether firewalld has policies (0.9 and newer).
func (i Info) Policies() bool { return i.Version.AtLeast(0, 9) }

// ReloadFlushesIPTables reports whether a reload flushes every iptables
// table (Docker's and ours): always before 2.0, and from 2.0 only when
// FlushAllOnReload is set.
func (i Info) ReloadFlushesIPTables() bool { return !i.Version.AtLeast(2, 0) || i.FlushAllOnReload }

// StrictForwardPorts reports whether firewalld knows the StrictForwardPorts
// setting (2.3 and newer), which stops Docker's DNAT from bypassing zones.
func (i Info) StrictForwardPorts() bool { return i.Version.AtLeast(2, 3) }

// Info reads version, state, backend and FlushAllOnReload.
func (c *Client) Info() (Info, error) {
	var info Info
	v, err := c.property(Path, ifaceMain+".version")
	if err != nil {
		return info, err
	}
	s, _ := v.Value().(string)
	if info.Version, err = ParseVersion(s); err != nil {
		return info, err
	}
	if v, err = c.property(Path, ifaceMain+".state"); err != nil {
		return info, err
	}
	info.State, _ = v.Value().(string)
	if v, err = c.property(ConfigPath, ifaceConfig+".FirewallBackend"); err != nil {
		return info, err
	}
	info.Backend, _ = v.Value().(string)
	if v, err = c.property(ConfigPath, ifaceConfig+".FlushAllOnReload"); err != nil {
		return info, err
	}
	switch x := v.Value().(type) {
	case bool:
		info.FlushAllOnReload = x
	case string: // firewalld reports some booleans as "yes"/"no"
		info.FlushAllOnReload = strings.EqualFold(x, "yes") || strings.EqualFold(x, "true")
	}
	return info, nil
}
