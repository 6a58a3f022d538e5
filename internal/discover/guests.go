package discover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
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
// an LXD or Incus instance from its daemon's API (GET
// /1.0/instances/NAME/state), a libvirt domain from libvirt's DHCP leases
// (`virsh domifaddr --source lease`). Only the managers' own facts count,
// never a name a guest gave itself in DHCP.
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

// instanceState is what we read of GET /1.0/instances/NAME/state.
type instanceState struct {
	Metadata struct {
		Status  string `json:"status"`
		Network map[string]struct {
			Addresses []struct {
				Family  string `json:"family"`
				Address string `json:"address"`
				Scope   string `json:"scope"`
			} `json:"addresses"`
		} `json:"network"`
	} `json:"metadata"`
}

// instanceTimeout bounds one question to LXD or Incus: a hung daemon must
// not hold up a repair for long.
const instanceTimeout = 2 * time.Second

// instance asks the first of sockets that exists for the instance's state.
func (g Guests) instance(ctx context.Context, sockets []string, name string) ([]netip.Addr, error) {
	for _, sock := range sockets {
		if _, err := os.Stat(sock); err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, instanceTimeout)
		defer cancel()
		resp, err := unixhttp.Get(ctx, sock, "/1.0/instances/"+name+"/state")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sock, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, ErrNoGuest
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s: %s", sock, resp.Status)
		}
		var st instanceState
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			return nil, fmt.Errorf("%s: reading the instance's state: %w", sock, err)
		}
		return instanceAddrs(st), nil
	}
	return nil, ErrNoGuest
}

// instanceAddrs are a running instance's global addresses, in the order of
// its interfaces' names.
func instanceAddrs(st instanceState) []netip.Addr {
	if st.Metadata.Status != "Running" {
		return nil
	}
	var ifaces []string
	for n := range st.Metadata.Network {
		ifaces = append(ifaces, n)
	}
	slices.Sort(ifaces)
	var out []netip.Addr
	for _, n := range ifaces {
		for _, a := range st.Metadata.Network[n].Addresses {
			addr, err := netip.ParseAddr(a.Address)
			if err == nil && a.Scope == "global" && (a.Family == "inet" || a.Family == "inet6") {
				out = append(out, addr)
			}
		}
	}
	return out
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
