package firewalld

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// ownedZones are zones whose owners bind their bridges themselves (libvirt's
// virbr+ to "libvirt", Docker's to "docker"): ours leaves those bridges alone.
var ownedZones = []string{"virbr+"}

// GuestZone is our zone for the guest bridges: firewalld's INPUT and FORWARD
// see guests there. They may ask the host for DHCP and DNS; nothing else of
// the host's is open to them.
func GuestZone(b rules.Bridges) Zone {
	z := Zone{
		Short:       "ufw-docker-bridge guests",
		Description: "Guest bridges (LXD, Incus, included ones) managed by ufw-docker-bridge: DHCP and DNS to the host; egress by the policy " + rules.FirewalldPolicy + ".",
		Target:      "default",
		Services:    []string{"dhcp", "dhcpv6", "dns"},
	}
	for _, g := range b.Guests {
		if !rules.MatchesAny(ownedZones, g) && !rules.MatchesAny(b.Excluded, g) {
			z.Interfaces = append(z.Interfaces, g)
		}
	}
	return z
}

// GuestPolicy lets guests out to every zone (firewalld forwards nothing
// between zones by default); our DOCKER-USER rules still keep them from
// containers and other guests unless a rule opens it. NAT is not here: our
// nftables NAT table adds it only where no owner masquerades.
func GuestPolicy() Policy {
	return Policy{
		Short:        "ufw-docker-bridge guest egress",
		Description:  "Forwarding out of the guest bridges of zone " + rules.FirewalldZone + ", managed by ufw-docker-bridge.",
		Target:       "ACCEPT",
		IngressZones: []string{rules.FirewalldZone},
		EgressZones:  []string{"ANY"},
		Priority:     -100,
	}
}

// Guests keeps our zone and policy in firewalld's permanent configuration
// and makes them the runtime one with a reload only when it changed them.
type Guests struct {
	// Connect returns a client on the system bus.
	Connect func() (*Client, error)
	// ConfigDir is firewalld's configuration directory (/etc/firewalld),
	// where removing a zone or policy leaves its file behind as NAME.xml.old.
	ConfigDir string
}

// Ensure puts our zone and policy in place and says what it changed.
func (g Guests) Ensure(b rules.Bridges) ([]string, error) {
	c, err := g.Connect()
	if err != nil {
		return nil, err
	}
	start, calls := time.Now(), c.Calls()
	info, err := c.Info()
	if err != nil {
		return nil, err
	}
	if !info.Policies() {
		return nil, fmt.Errorf("firewalld %s has no policies (0.9 or newer is needed)", info.Version)
	}
	var changed []string
	zoneChanged, err := c.EnsureZone(rules.FirewalldZone, GuestZone(b))
	if fe := (*Error)(nil); errors.As(err, &fe) && fe.Code == "ZONE_CONFLICT" {
		return nil, conflict(c, fe.Message)
	}
	if err != nil {
		return nil, err
	}
	if zoneChanged {
		changed = append(changed, "firewalld: zone "+rules.FirewalldZone+" written")
	}
	policyChanged, err := c.EnsurePolicy(rules.FirewalldPolicy, GuestPolicy())
	if err != nil {
		return changed, err
	}
	if policyChanged {
		changed = append(changed, "firewalld: policy "+rules.FirewalldPolicy+" written")
	}
	if len(changed) > 0 {
		if err := c.Reload(); err != nil {
			return changed, err
		}
		changed = append(changed, fmt.Sprintf("firewalld: reloaded (%d D-Bus calls in %v)", c.Calls()-calls, time.Since(start).Round(time.Millisecond)))
	}
	return changed, nil
}

// conflict is the one-line error for a guest bridge the admin bound to a
// zone of their own: which zone, and the two ways out.
func conflict(c *Client, iface string) error {
	zone, err := c.ZoneOfInterface(iface)
	where := "zone " + zone
	if err != nil || zone == "" {
		zone, where = "ZONE", "another zone"
	}
	return fmt.Errorf("bridge %s is in firewalld's %s already, and one interface has one zone: take it out there "+
		"(firewall-cmd --permanent --zone=%s --remove-interface=%s; firewall-cmd --reload) or leave it there "+
		"(ufw-docker-bridge bridge %s exclude)", iface, where, zone, iface, iface)
}

// Remove deletes our zone and policy (and nothing else), reloading when it
// removed one, and says what it did. With firewalld stopped (or no system
// bus at all, without which firewalld cannot run) it deletes their files
// from the permanent configuration itself, so that firewalld's next start
// loads neither, and says so.
func (g Guests) Remove() ([]string, error) {
	c, err := g.Connect()
	if busAbsent(err) && g.ConfigDir != "" {
		return g.removeFiles()
	}
	if err != nil {
		return nil, err
	}
	p, err := c.RemovePolicy(rules.FirewalldPolicy)
	if errors.Is(err, ErrNotRunning) && g.ConfigDir != "" {
		return g.removeFiles()
	}
	if err != nil {
		return nil, err
	}
	z, err := c.RemoveZone(rules.FirewalldZone)
	if err != nil {
		return nil, err
	}
	if !p && !z {
		return nil, nil
	}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	// firewalld keeps a removed zone's or policy's file as NAME.xml.old: those
	// are ours too, and uninstall leaves /etc/firewalld as it found it.
	if err := g.remove(keptCopies); err != nil {
		return nil, err
	}
	return []string{"firewalld: zone " + rules.FirewalldZone + " and policy " + rules.FirewalldPolicy + " removed"}, nil
}

// busAbsent says err is the system bus's socket missing or refusing: no
// dbus-daemon runs, so no firewalld does.
func busAbsent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED)
}

// keptCopies are the copies firewalld keeps of our zone's and policy's
// files when they are removed over D-Bus; ownFiles are those files and
// their copies, in its permanent configuration.
var (
	keptCopies = []string{"zones/" + rules.FirewalldZone + ".xml.old", "policies/" + rules.FirewalldPolicy + ".xml.old"}
	ownFiles   = append([]string{"zones/" + rules.FirewalldZone + ".xml", "policies/" + rules.FirewalldPolicy + ".xml"}, keptCopies...)
)

// removeFiles deletes our zone's and policy's files while firewalld is
// stopped.
func (g Guests) removeFiles() ([]string, error) {
	if err := g.remove(ownFiles); err != nil {
		return nil, err
	}
	return []string{"firewalld is not running: zone " + rules.FirewalldZone + " and policy " + rules.FirewalldPolicy +
		" removed from " + g.ConfigDir + " directly; its next start loads neither"}, nil
}

// remove deletes the files (relative to ConfigDir); a missing one is fine.
func (g Guests) remove(files []string) error {
	if g.ConfigDir == "" {
		return nil
	}
	for _, f := range files {
		if err := os.Remove(filepath.Join(g.ConfigDir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing our firewalld configuration: %w", err)
		}
	}
	return nil
}
