package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// guestInit is the init of the LXD lab guest: busybox's applets, a DHCP
// lease on eth0 that it keeps, and web servers on 22 and 80 that answer
// with the instance's name.
const guestInit = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /www && hostname > /www/index.html
ip link set lo up
udhcpc -i eth0 -b -s /bin/dhcp.sh
httpd -p 22 -h /www
httpd -p 80 -h /www
exec sleep 2147483647
`

const guestDHCP = `#!/bin/busybox sh
case "$1" in bound|renew) ip addr flush dev $interface; ip addr add $ip/${mask:-24} dev $interface
[ -n "$router" ] && ip route replace default via ${router%% *};; esac
`

// StartLXD starts the real LXD with its state in the lab (LXD_DIR), runs
// `lxd init --auto` (lxdbr0 with a DHCP server) and imports an image "bb"
// of the static busybox, all offline; it stops LXD and removes what it
// made at the end of the test. LXD looks for its bridge in sysfs: a sysfs
// of the lab's network namespace is mounted first, with the machine's
// cgroup mounts carried over (dockerd's containers live there).
func StartLXD(t testing.TB) {
	t.Helper()
	dir := Dir()
	MustSh(t, fmt.Sprintf("mkdir -p %[1]s/cgroup && mount --rbind /sys/fs/cgroup %[1]s/cgroup && mount -t sysfs sysfs /sys && "+
		"mount --rbind %[1]s/cgroup /sys/fs/cgroup", dir))
	os.Setenv("LXD_DIR", filepath.Join(dir, "lxd"))
	d, err := Start(filepath.Join(dir, "lxd.log"), "lxd", "--group", "root", "--logfile", filepath.Join(dir, "lxd-own.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		Sh("for i in $(lxc list -c n --format csv); do lxc delete --force $i; done; timeout 20 lxd shutdown")
		d.Stop(10 * time.Second)
		// Its dnsmasq outlives it; it ends with the lab's PID namespace.
		Sh("ip link del lxdbr0; nft delete table inet lxd")
	})
	img := filepath.Join(dir, "lxdimg")
	if err := os.MkdirAll(filepath.Join(img, "rootfs", "sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"rootfs/sbin/init": guestInit, "rootfs/bin/dhcp.sh": guestDHCP,
		"metadata.yaml": fmt.Sprintf("architecture: x86_64\ncreation_date: %d\nproperties:\n  description: lab guest\n", time.Now().Unix())} {
		p := filepath.Join(img, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	MustSh(t, fmt.Sprintf("cp /bin/busybox %[1]s/rootfs/bin/ && mkdir -p %[1]s/rootfs/proc %[1]s/rootfs/sys %[1]s/rootfs/dev %[1]s/rootfs/tmp && "+
		"tar -C %[1]s -czf %[1]s.tar.gz metadata.yaml rootfs", img))
	MustSh(t, "timeout 30 lxd waitready && lxd init --auto && lxc image import "+img+".tar.gz --alias bb >/dev/null")
}

// LaunchGuest starts an LXD instance of the lab's image (privileged: the
// lab maps no user IDs) with the given extra `lxc launch` arguments and
// waits for its IPv4 address, which it returns.
func LaunchGuest(t testing.TB, name string, args ...string) string {
	t.Helper()
	MustSh(t, "timeout 60 lxc launch bb "+name+" -c security.privileged=true "+strings.Join(args, " ")+" >/dev/null")
	return GuestAddr(t, name)
}

// GuestAddr waits (up to 30 s) for the instance's IPv4 address and returns it.
func GuestAddr(t testing.TB, name string) string {
	t.Helper()
	var addr string
	if err := WaitFor(30*time.Second, func() error {
		out, err := Sh("lxc list " + name + " -c 4 --format csv")
		if f := strings.Fields(out); err == nil && len(f) > 0 {
			addr = f[0]
			return nil
		}
		return fmt.Errorf("no IPv4 address yet: %s %v", out, err)
	}); err != nil {
		t.Fatalf("LXD guest %s: %v", name, err)
	}
	return addr
}
