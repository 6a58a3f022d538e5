package discover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/runner"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/unixhttp"
)

// ErrNoGuest says no manager knows a guest of that name.
var ErrNoGuest = errors.New("no such guest")

// Guests finds a forward's guest's addresses from the manager that runs it:
// an LXD or Incus instance from its daemon's API (the leases its managed
// networks gave the instance's NICs), a libvirt domain from libvirt's DHCP
// leases (`virsh domifaddr --source lease`). Only the managers' own facts
// count, never an address a guest put on its interfaces or a name it gave
// itself in DHCP.
type Guests struct {
	// Sockets are the LXD and Incus API sockets to ask, by manager
	// (GuestSockets).
	Sockets map[string][]string
	// Runner runs virsh.
	Runner runner.Runner
}

// GuestSockets are the API sockets of LXD (LXD_DIR, the snap's, the
// Debian package's) and Incus (INCUS_DIR, the package's).
func GuestSockets() map[string][]string {
	lxd := []string{"/var/snap/lxd/common/lxd/unix.socket", "/var/lib/lxd/unix.socket"}
	if d := os.Getenv("LXD_DIR"); d != "" {
		lxd = append([]string{filepath.Join(d, "unix.socket")}, lxd...)
	}
	incus := []string{"/var/lib/incus/unix.socket"}
	if d := os.Getenv("INCUS_DIR"); d != "" {
		incus = append([]string{filepath.Join(d, "unix.socket")}, incus...)
	}
	return map[string][]string{rules.GuestLXD: lxd, rules.GuestIncus: incus}
}

// LeaseDirs are the directories where libvirt's, LXD's and Incus' DHCP
// servers keep their leases now (one a network for LXD and Incus).
func LeaseDirs() []string {
	dirs := []string{"/var/lib/libvirt/dnsmasq"}
	for _, socks := range GuestSockets() {
		for _, s := range socks {
			nets, _ := filepath.Glob(filepath.Join(filepath.Dir(s), "networks", "*"))
			dirs = append(dirs, nets...)
		}
	}
	var out []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// Addrs returns the global addresses of the guest a forward names
// ("web1", "lxd:web1"): from the manager it names, or from the one manager
// that knows it. A guest that is known but stopped, or has no address yet,
// has none (and no error). ErrNoGuest when no manager knows it; an error
// when two do (say which with lxd:, incus: or libvirt:) or one that runs
// cannot answer.
func (g Guests) Addrs(ctx context.Context, guest string) ([]netip.Addr, error) {
	manager, name := rules.SplitGuest(guest)
	managers := rules.GuestManagers
	if manager != "" {
		managers = []string{manager}
	}
	var found []string
	var addrs []netip.Addr
	for _, m := range managers {
		var as []netip.Addr
		var err error
		if m == rules.GuestLibvirt {
			as, err = g.libvirt(ctx, name)
		} else {
			as, err = g.instance(ctx, g.Sockets[m], name)
		}
		if errors.Is(err, ErrNoGuest) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("asking %s for guest %s: %w", m, name, err)
		}
		found, addrs = append(found, m), as
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%w %q (asked %s)", ErrNoGuest, guest, strings.Join(managers, ", "))
	case 1:
		return addrs, nil
	}
	return nil, fmt.Errorf("guest %q is known to %s: name one, e.g. %s:%s", name, strings.Join(found, " and "), found[0], name)
}

// instanceTimeout bounds the questions about one instance to LXD or
// Incus: a hung daemon must not hold up a repair for long.
const instanceTimeout = 2 * time.Second

// instance is what we read of GET /1.0/instances/NAME: whether it runs,
// and its NICs with their hardware addresses.
type instance struct {
	Metadata struct {
		Status  string                       `json:"status"`
		Config  map[string]string            `json:"expanded_config"`
		Devices map[string]map[string]string `json:"expanded_devices"`
	} `json:"metadata"`
}

// network is what we read of GET /1.0/networks/NAME.
type network struct {
	Metadata struct {
		Managed bool              `json:"managed"`
		Config  map[string]string `json:"config"`
	} `json:"metadata"`
}

// leases is what we read of GET /1.0/networks/NAME/leases.
type leases struct {
	Metadata []struct {
		Hwaddr  string `json:"hwaddr"`
		Address string `json:"address"`
	} `json:"metadata"`
}

// instance asks the first of sockets that exists for the instance's
// addresses: the manager's own facts, never what the guest's interfaces
// report (a tenant can put a neighbour's address on its own interface and
// the instance's state lists it). For each NIC of the instance on a
// network the manager manages, the addresses that network's DHCP server
// leased to that NIC's hardware address (as LXD configured it), inside the
// network's subnets. A running instance with no lease yet has none.
func (g Guests) instance(ctx context.Context, sockets []string, name string) ([]netip.Addr, error) {
	for _, sock := range sockets {
		if _, err := os.Stat(sock); err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, instanceTimeout)
		defer cancel()
		var inst instance
		found, err := getJSON(ctx, sock, "/1.0/instances/"+url.PathEscape(name), &inst)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, ErrNoGuest
		}
		if inst.Metadata.Status != "Running" {
			return nil, nil
		}
		var out []netip.Addr
		for _, nic := range instanceNICs(inst) {
			as, err := leased(ctx, sock, nic.network, nic.hwaddr)
			if err != nil {
				return nil, err
			}
			out = append(out, as...)
		}
		return out, nil
	}
	return nil, ErrNoGuest
}

// nic is an instance's NIC on a network: the network's name and the NIC's
// hardware address.
type nic struct{ network, hwaddr string }

// instanceNICs are the instance's NICs on a network the manager may
// manage (a "network" device, or a bridged one whose parent may be one),
// in the order of their devices' names, with the hardware address LXD
// gave them (the device's own, else the volatile one).
func instanceNICs(inst instance) []nic {
	var names []string
	for n, d := range inst.Metadata.Devices {
		if d["type"] == "nic" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []nic
	for _, n := range names {
		d := inst.Metadata.Devices[n]
		net := d["network"]
		if net == "" && d["nictype"] == "bridged" {
			net = d["parent"]
		}
		hw := d["hwaddr"]
		if hw == "" {
			hw = inst.Metadata.Config["volatile."+n+".hwaddr"]
		}
		if net != "" && hw != "" {
			out = append(out, nic{network: net, hwaddr: hw})
		}
	}
	return out
}

// leased returns the addresses network net of the manager behind sock
// leased to hardware address hw, inside the network's own subnets; none
// when the manager does not manage net.
func leased(ctx context.Context, sock, net, hw string) ([]netip.Addr, error) {
	var n network
	found, err := getJSON(ctx, sock, "/1.0/networks/"+url.PathEscape(net), &n)
	if err != nil {
		return nil, err
	}
	if !found || !n.Metadata.Managed {
		return nil, nil
	}
	var subnets []netip.Prefix
	for _, k := range []string{"ipv4.address", "ipv6.address"} {
		if p, err := netip.ParsePrefix(n.Metadata.Config[k]); err == nil {
			subnets = append(subnets, p.Masked())
		}
	}
	var ls leases
	if _, err := getJSON(ctx, sock, "/1.0/networks/"+url.PathEscape(net)+"/leases", &ls); err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, l := range ls.Metadata {
		a, err := netip.ParseAddr(l.Address)
		if err != nil || !strings.EqualFold(l.Hwaddr, hw) || !a.IsGlobalUnicast() || slices.Contains(out, a) ||
			!slices.ContainsFunc(subnets, func(p netip.Prefix) bool { return p.Contains(a) }) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// getJSON reads the answer to GET path from the API behind sock into v;
// found is false for 404 (no such instance or network).
func getJSON(ctx context.Context, sock, path string, v any) (found bool, err error) {
	resp, err := unixhttp.Get(ctx, sock, path)
	if err != nil {
		return false, fmt.Errorf("%s: %w", sock, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound:
		return false, nil
	case http.StatusOK:
	default:
		return false, fmt.Errorf("%s: GET %s: %s", sock, path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return false, fmt.Errorf("%s: reading %s: %w", sock, path, err)
	}
	return true, nil
}

// libvirt reads the domain's leases from libvirt. A libvirt that does not
// run knows no guest.
func (g Guests) libvirt(ctx context.Context, name string) ([]netip.Addr, error) {
	out, err := g.Runner.Run(ctx, "virsh", []string{"-c", "qemu:///system", "-q", "domifaddr", name, "--source", "lease"}, nil)
	if err != nil {
		var ee *runner.ExecError
		if errors.As(err, &ee) && (ee.Code == -1 || strings.Contains(ee.Stderr, "failed to get domain") ||
			strings.Contains(ee.Stderr, "failed to connect") || strings.Contains(ee.Stderr, "Domain not found")) {
			return nil, ErrNoGuest
		}
		if errors.As(err, &ee) && strings.Contains(ee.Stderr, "not running") {
			return nil, nil
		}
		return nil, err
	}
	return DomIfAddrs(string(out)), nil
}

// DomIfAddrs reads `virsh -q domifaddr` output: "vnet0 52:54:00:.. ipv4
// 192.168.122.45/24" a line.
func DomIfAddrs(out string) []netip.Addr {
	var as []netip.Addr
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || f[2] != "ipv4" && f[2] != "ipv6" {
			continue
		}
		if p, err := netip.ParsePrefix(f[3]); err == nil && p.Addr().IsGlobalUnicast() {
			as = append(as, p.Addr())
		}
	}
	return as
}
