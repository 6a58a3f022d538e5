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

// lxdState is an instance's state as LXD 5.0 answers it (recorded in the
// lab, counters left out).
const lxdState = `{"type":"sync","status":"Success","status_code":200,"metadata":{"status":"Running","status_code":103,
"network":{"eth0":{"addresses":[{"family":"inet","address":"10.171.198.17","netmask":"24","scope":"global"},
{"family":"inet6","address":"fd42:5b05:b1c2:9b70:216:3eff:feb3:88de","netmask":"64","scope":"global"},
{"family":"inet6","address":"fe80::216:3eff:feb3:88de","netmask":"64","scope":"link"}],"hwaddr":"00:16:3e:b3:88:de"},
"lo":{"addresses":[{"family":"inet","address":"127.0.0.1","netmask":"8","scope":"local"}]}},"pid":121}}`

// serveLXD answers the instance API on a unix socket for the instances
// given (name: state body).
func serveLXD(t *testing.T, instances map[string]string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "unix.socket")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/1.0/instances/"), "/state")
		body, ok := instances[name]
		if !ok {
			http.Error(w, `{"error":"Instance not found","error_code":404}`, http.StatusNotFound)
			return
		}
		fmt.Fprint(w, body)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestGuestAddrs(t *testing.T) {
	stopped := strings.Replace(lxdState, `"status":"Running"`, `"status":"Stopped"`, 1)
	g := Guests{
		Sockets: map[string][]string{
			"lxd":   {filepath.Join(t.TempDir(), "absent.socket"), serveLXD(t, map[string]string{"web1": lxdState, "both": lxdState, "off": stopped})},
			"incus": {filepath.Join(t.TempDir(), "absent.socket")},
		},
		Runner: virsh{
			"vm1":  " vnet0      52:54:00:6e:5a:01    ipv4         192.168.122.45/24\n -          -                    ipv6         fe80::5054:ff:fe6e:5a01/64\n",
			"both": " vnet1      52:54:00:6e:5a:02    ipv4         192.168.122.46/24\n",
		},
	}
	ctx := context.Background()
	for _, c := range []struct{ guest, want, err string }{
		{"web1", "[10.171.198.17 fd42:5b05:b1c2:9b70:216:3eff:feb3:88de]", ""},
		{"lxd:web1", "[10.171.198.17 fd42:5b05:b1c2:9b70:216:3eff:feb3:88de]", ""},
		{"vm1", "[192.168.122.45]", ""},
		{"libvirt:both", "[192.168.122.46]", ""},
		{"off", "[]", ""},
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
	broken := Guests{Sockets: map[string][]string{"lxd": {serveLXD(t, map[string]string{"web1": "{not json"})}}, Runner: virsh{}}
	if _, err := broken.Addrs(ctx, "web1"); err == nil || errors.Is(err, ErrNoGuest) {
		t.Errorf("LXD answering junk: %v, want an error", err)
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
