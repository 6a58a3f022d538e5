package discover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/runner"
)

// virsh answers `virsh domifaddr NAME` from a map, as libvirt 9 does for a
// domain that is not there.
type virsh map[string]string

func (v virsh) Run(_ context.Context, name string, args []string, _ []byte) ([]byte, error) {
	dom := args[4]
	out, ok := v[dom]
	if !ok {
		return nil, &runner.ExecError{Cmd: name, Code: 1, Stderr: "error: failed to get domain '" + dom + "'"}
	}
	return []byte(out), nil
}

// lxdInstance is an instance as LXD 5.0 answers GET /1.0/instances/NAME
// (the fields we read, as recorded in the lab), with its status.
func lxdInstance(status, hwaddr string) string {
	return `{"type":"sync","status":"Success","status_code":200,"metadata":{"name":"web1","status":"` + status + `",
"expanded_config":{"image.description":"bb","volatile.eth0.hwaddr":"` + hwaddr + `","volatile.eth0.host_name":"veth1a2b"},
"expanded_devices":{"eth0":{"name":"eth0","network":"lxdbr0","type":"nic"},"root":{"path":"/","pool":"default","type":"disk"}}}}`
}

// lxdNetwork is lxdbr0 as LXD answers GET /1.0/networks/lxdbr0.
const lxdNetwork = `{"type":"sync","status":"Success","status_code":200,"metadata":{"name":"lxdbr0","type":"bridge","managed":true,
"config":{"ipv4.address":"10.171.198.1/24","ipv4.nat":"true","ipv6.address":"fd42:5b05:b1c2:9b70::1/64","ipv6.nat":"true"}}}`

// lxdLeases are lxdbr0's leases: web1's NIC's, and another instance's
// (its neighbour on the bridge), and a lease outside the subnet.
const lxdLeases = `{"type":"sync","status":"Success","status_code":200,"metadata":[
{"hostname":"web1","hwaddr":"00:16:3e:b3:88:de","address":"10.171.198.17","type":"dynamic","location":"none"},
{"hostname":"web1","hwaddr":"00:16:3e:b3:88:de","address":"fd42:5b05:b1c2:9b70:216:3eff:feb3:88de","type":"dynamic","location":"none"},
{"hostname":"web2","hwaddr":"00:16:3e:00:00:02","address":"10.171.198.18","type":"dynamic","location":"none"},
{"hostname":"web1","hwaddr":"00:16:3E:B3:88:DE","address":"192.0.2.9","type":"dynamic","location":"none"}]}`

// serveLXD answers the instance and network API on a unix socket for the
// paths given (path: body); any other path is LXD's 404.
func serveLXD(t *testing.T, paths map[string]string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "unix.socket")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := paths[r.URL.Path]
		if !ok {
			http.Error(w, `{"error":"not found","error_code":404}`, http.StatusNotFound)
			return
		}
		fmt.Fprint(w, body)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

// lxdPaths is an LXD with instances (name: body) on lxdbr0.
func lxdPaths(instances map[string]string) map[string]string {
	paths := map[string]string{"/1.0/networks/lxdbr0": lxdNetwork, "/1.0/networks/lxdbr0/leases": lxdLeases}
	for n, body := range instances {
		paths["/1.0/instances/"+n] = body
	}
	return paths
}

func TestGuestAddrs(t *testing.T) {
	web1 := lxdInstance("Running", "00:16:3e:b3:88:de")
	g := Guests{
		Sockets: map[string][]string{
			"lxd": {filepath.Join(t.TempDir(), "absent.socket"), serveLXD(t, lxdPaths(map[string]string{
				"web1": web1, "both": web1, "off": lxdInstance("Stopped", "00:16:3e:b3:88:de"),
				"new": lxdInstance("Running", "00:16:3e:00:00:99")}))},
			"incus": {filepath.Join(t.TempDir(), "absent.socket")},
		},
		Runner: virsh{
			"vm1":  " vnet0      52:54:00:6e:5a:01    ipv4         192.168.122.45/24\n -          -                    ipv6         fe80::5054:ff:fe6e:5a01/64\n",
			"both": " vnet1      52:54:00:6e:5a:02    ipv4         192.168.122.46/24\n",
		},
	}
	ctx := context.Background()
	for _, c := range []struct{ guest, want, err string }{
		// The leases of its NIC, inside lxdbr0's subnets: neither the
		// neighbour's lease nor one outside the subnet.
		{"web1", "[10.171.198.17 fd42:5b05:b1c2:9b70:216:3eff:feb3:88de]", ""},
		{"lxd:web1", "[10.171.198.17 fd42:5b05:b1c2:9b70:216:3eff:feb3:88de]", ""},
		{"vm1", "[192.168.122.45]", ""},
		{"libvirt:both", "[192.168.122.46]", ""},
		{"off", "[]", ""},
		{"new", "[]", ""}, // running, no lease yet
		{"both", "", "known to lxd and libvirt"},
		{"nosuch", "", "no such guest"},
		{"incus:web1", "", "no such guest"},
	} {
		as, err := g.Addrs(ctx, c.guest)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, %v; want an error naming %q", c.guest, as, err, c.err)
		case c.err == "" && (err != nil || fmt.Sprint(as) != c.want):
			t.Errorf("%s: %v, %v; want %s", c.guest, as, err, c.want)
		}
	}
	if _, err := g.Addrs(ctx, "nosuch"); !errors.Is(err, ErrNoGuest) {
		t.Errorf("a guest no manager knows: %v, want ErrNoGuest", err)
	}
	// A manager that answers with a failure is an error, never "no guest".
	broken := Guests{Sockets: map[string][]string{"lxd": {serveLXD(t, map[string]string{"/1.0/instances/web1": "{not json"})}}, Runner: virsh{}}
	if _, err := broken.Addrs(ctx, "web1"); err == nil || errors.Is(err, ErrNoGuest) {
		t.Errorf("LXD answering junk: %v, want an error", err)
	}
	// A NIC on a network LXD does not manage has no lease of LXD's.
	unmanaged := strings.Replace(lxdNetwork, `"managed":true`, `"managed":false`, 1)
	paths := lxdPaths(map[string]string{"web1": web1})
	paths["/1.0/networks/lxdbr0"] = unmanaged
	if as, err := (Guests{Sockets: map[string][]string{"lxd": {serveLXD(t, paths)}}}).Addrs(ctx, "lxd:web1"); err != nil || len(as) != 0 {
		t.Errorf("a NIC on an unmanaged network: %v %v", as, err)
	}
}

func TestDomIfAddrs(t *testing.T) {
	got := DomIfAddrs(" vnet0      52:54:00:6e:5a:01    ipv4         192.168.122.45/24\n" +
		" -          -                    ipv6         2001:db8::45/64\n" +
		" -          -                    ipv6         fe80::1/64\n")
	if !slices.Equal(got, []netip.Addr{netip.MustParseAddr("192.168.122.45"), netip.MustParseAddr("2001:db8::45")}) {
		t.Errorf("DomIfAddrs = %v", got)
	}
}
