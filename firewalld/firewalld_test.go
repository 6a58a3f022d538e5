package firewalld

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func guestsOn(b *fakeBus) (Guests, *Client) {
	c := &Client{Bus: b}
	return Guests{Connect: func() (*Client, error) { return c, nil }}, c
}

func settings(t *testing.T, lines ...string) rules.Bridges {
	rs, err := rules.ParseLines(lines...)
	if err != nil {
		t.Fatal(err)
	}
	return rs.Bridges()
}

func TestEnsureCreatesThenDoesNothing(t *testing.T) {
	bus := newFakeBus("1.3.3")
	g, c := guestsOn(bus)
	changed, err := g.Ensure(settings(t, "bridge br-vms include", "bridge incusbr+ exclude"))
	if err != nil || len(changed) != 3 || bus.reloads != 1 {
		t.Fatalf("first Ensure: %v %v, %d reloads", changed, err, bus.reloads)
	}
	z := bus.zones[rules.FirewalldZone]
	// Typed as firewalld wants them; libvirt's bridges stay in libvirt's zone,
	// excluded ones in none of ours.
	if got := z["interfaces"].Value().([]string); strings.Join(got, ",") != "lxdbr+,lxcbr+,mpqemubr+,mpbr+,br-vms" {
		t.Errorf("zone interfaces %v", got)
	}
	if got := z["services"].Value().([]string); strings.Join(got, ",") != "dhcp,dhcpv6,dns" {
		t.Errorf("zone services %v", got)
	}
	p := bus.policies[rules.FirewalldPolicy]
	if _, ok := p["priority"].Value().(int32); !ok {
		t.Errorf("priority is %T, want int32", p["priority"].Value())
	}
	if _, ok := p["masquerade"].Value().(bool); !ok {
		t.Errorf("masquerade is %T, want bool", p["masquerade"].Value())
	}
	if _, ok := p["ports"]; ok {
		t.Error("an empty a(ss) ports was sent")
	}
	first := c.Calls()
	// After the reload every object path has changed: Ensure looks them up
	// by name again, finds them current, and neither writes nor reloads.
	bus.calls = nil
	changed, err = g.Ensure(settings(t, "bridge br-vms include", "bridge incusbr+ exclude"))
	if err != nil || len(changed) != 0 || bus.reloads != 1 {
		t.Fatalf("second Ensure: %v %v, %d reloads", changed, err, bus.reloads)
	}
	for _, call := range bus.calls {
		if strings.Contains(call, "update") || strings.Contains(call, "add") || strings.Contains(call, "reload") {
			t.Errorf("a current configuration was written: %s", call)
		}
	}
	t.Logf("D-Bus calls: first install %d, a pass with nothing to do %d", first, c.Calls()-first)
	// A changed setting is written and reloaded once.
	changed, err = g.Ensure(settings(t, "bridge incusbr+ exclude"))
	if err != nil || len(changed) != 2 || bus.reloads != 2 {
		t.Errorf("changed settings: %v %v, %d reloads", changed, err, bus.reloads)
	}
}

func TestRemoveTakesOnlyOurs(t *testing.T) {
	bus := newFakeBus("1.3.3")
	g, _ := guestsOn(bus)
	if _, err := g.Ensure(settings(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if len(bus.zones) != 1 || bus.zones["public"] == nil || len(bus.policies) != 0 || bus.reloads != 2 {
		t.Errorf("after Remove: zones %v, policies %v, %d reloads", bus.zones, bus.policies, bus.reloads)
	}
	if _, err := g.Remove(); err != nil || bus.reloads != 2 {
		t.Errorf("Remove with nothing of ours: %v, %d reloads", err, bus.reloads)
	}
}

func TestOldFirewalldIsRefused(t *testing.T) {
	bus := newFakeBus("0.8.2")
	g, _ := guestsOn(bus)
	if _, err := g.Ensure(settings(t)); err == nil || !strings.Contains(err.Error(), "0.9") {
		t.Errorf("firewalld 0.8: %v", err)
	}
	if len(bus.zones) != 1 || len(bus.policies) != 0 {
		t.Error("firewalld 0.8 got a zone or policy written")
	}
}

func TestNotRunning(t *testing.T) {
	bus := newFakeBus("1.3.3")
	bus.down = true
	g, _ := guestsOn(bus)
	if _, err := g.Ensure(settings(t)); !errors.Is(err, ErrNotRunning) {
		t.Errorf("firewalld down: %v", err)
	}
	// Remove, firewalld down: our files go from the permanent
	// configuration directly, the admin's stay, and it says so.
	dir := configDir(t, append([]string{"zones/public.xml", "policies/admin.xml"}, ownFiles...))
	g.ConfigDir = dir
	said, err := g.Remove()
	if err != nil || len(said) != 1 || !strings.Contains(said[0], "not running") {
		t.Fatalf("Remove, firewalld down: %v %v", said, err)
	}
	ownFilesGone(t, dir)
	for _, f := range []string{"zones/public.xml", "policies/admin.xml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the admin's %s: %v", f, err)
		}
	}
}

// configDir is a firewalld configuration directory holding files (paths
// relative to it).
func configDir(t *testing.T, files []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("<x/>"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// ownFilesGone fails unless none of our files is left in dir.
func ownFilesGone(t *testing.T, dir string) {
	t.Helper()
	for _, f := range ownFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", f, err)
		}
	}
}

// No system bus at all (dbus-daemon stopped, so firewalld too): Remove
// takes our files out as with firewalld stopped, rather than failing and
// leaving our rules in the kernel with nothing to manage them.
func TestRemoveWithoutBus(t *testing.T) {
	dir := configDir(t, ownFiles)
	g := Guests{ConfigDir: dir, Connect: func() (*Client, error) {
		_, err := net.Dial("unix", filepath.Join(dir, "no-bus-socket"))
		return nil, fmt.Errorf("connecting to the system bus: %w", err)
	}}
	said, err := g.Remove()
	if err != nil || len(said) != 1 || !strings.Contains(said[0], "not running") {
		t.Fatalf("Remove without a bus: %v %v", said, err)
	}
	ownFilesGone(t, dir)
	// Any other failure to connect is an error: firewalld may run.
	g.Connect = func() (*Client, error) { return nil, errors.New("permission denied") }
	if _, err := g.Remove(); err == nil {
		t.Error("a bus that refuses us was taken for no firewalld")
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		body string
		want error
	}{
		{"NAME_CONFLICT: new_zone(): 'udb-guests'", ErrExists},
		{"ZONE_ALREADY_SET: lxdbr0", ErrExists},
		{"INVALID_ZONE: nope", ErrNotFound},
		{"INVALID_POLICY: nope", ErrNotFound},
	} {
		err := classify("m", dbus.Error{Name: exceptionName, Body: []any{tc.body}})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v is not %v", tc.body, err, tc.want)
		}
		var fe *Error
		if !errors.As(err, &fe) || fe.Code != strings.SplitN(tc.body, ":", 2)[0] {
			t.Errorf("%s: code not kept: %v", tc.body, err)
		}
	}
	if err := classify("m", dbus.Error{Name: exceptionName, Body: []any{"INVALID_PORT: 99999"}}); errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) {
		t.Errorf("INVALID_PORT classified as %v", err)
	}
}

func TestInfoBranches(t *testing.T) {
	for _, tc := range []struct {
		version      string
		flushAll     bool
		policies     bool
		flushes      bool
		strictFwdPts bool
	}{
		{"0.8.2", false, false, true, false},
		{"1.3.3", false, true, true, false},
		{"2.1.0", false, true, false, false},
		{"2.1.0", true, true, true, false},
		{"2.3.1", false, true, false, true},
	} {
		v, err := ParseVersion(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		i := Info{Version: v, FlushAllOnReload: tc.flushAll}
		if i.Policies() != tc.policies || i.ReloadFlushesIPTables() != tc.flushes || i.StrictForwardPorts() != tc.strictFwdPts {
			t.Errorf("%s flushAll=%v: policies %v, flushes %v, strict %v", tc.version, tc.flushAll, i.Policies(), i.ReloadFlushesIPTables(), i.StrictForwardPorts())
		}
	}
	if _, err := ParseVersion("1.x"); err == nil {
		t.Error("a bad version parsed")
	}
	c := &Client{Bus: newFakeBus("1.3.3")}
	info, err := c.Info()
	if err != nil || info.Version.String() != "1.3.3" || info.State != "RUNNING" || info.Backend != "nftables" || !info.FlushAllOnReload {
		t.Errorf("Info: %+v %v", info, err)
	}
}

func TestRemoveDeletesFirewalldsCopies(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"zones/udb-guests.xml.old", "policies/udb-guests-out.xml.old", "zones/public.xml.old"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bus := newFakeBus("1.3.3")
	g, _ := guestsOn(bus)
	g.ConfigDir = dir
	if _, err := g.Ensure(settings(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"zones/udb-guests.xml.old": false, "policies/udb-guests-out.xml.old": false, "zones/public.xml.old": true} {
		if _, err := os.Stat(filepath.Join(dir, p)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", p, err == nil, want)
		}
	}
}
