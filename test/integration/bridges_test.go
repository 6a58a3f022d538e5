package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// guest is a fake VM or system container: a network namespace on a veth
// whose other end is a port of a host bridge, running a web server.
type guest struct{ ns, bridge string }

// newGuest makes the namespace and plugs it into the bridge.
func newGuest(t testing.TB, ns, bridge string) guest {
	t.Helper()
	g := guest{ns: ns, bridge: bridge}
	mustSh(t, fmt.Sprintf(`ip netns add %[1]s && ip link add %[1]sh type veth peer name %[1]sg && ip link set %[1]sg netns %[1]s &&
ip link set %[1]sh master %[2]s up && ip netns exec %[1]s sh -c 'ip link set lo up; ip link set %[1]sg up' &&
mkdir -p %[3]s/www-%[1]s && echo %[1]s > %[3]s/www-%[1]s/index.html && ip netns exec %[1]s busybox httpd -p 80 -h %[3]s/www-%[1]s`,
		ns, bridge, dir))
	t.Cleanup(func() { lab.Sh("ip netns del " + ns + "; ip link del " + ns + "h") })
	// A bridge with STP on (libvirt's) forwards on a new port only after
	// its listening and learning delays.
	if err := lab.WaitFor(15*time.Second, func() error {
		_, err := lab.Sh("bridge link show dev " + ns + "h | grep -q 'state forwarding'")
		return err
	}); err != nil {
		t.Fatalf("port %sh of %s does not forward: %v", ns, bridge, err)
	}
	return g
}

// dhcp asks the bridge owner's DHCP server for a lease (busybox udhcpc,
// one discover a second, tries times: a port just added to a bridge may
// miss the first) and configures it; it reports success.
func (g guest) dhcp(t testing.TB, tries int) bool {
	t.Helper()
	script := filepath.Join(dir, "udhcpc.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncase \"$1\" in bound|renew) ip addr flush dev $interface; ip addr add $ip/${mask:-24} dev $interface; "+
		"[ -n \"$router\" ] && ip route replace default via ${router%% *};; esac\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := lab.Sh(fmt.Sprintf("ip netns exec %s busybox udhcpc -i %sg -n -q -t %d -T 1 -s %s", g.ns, g.ns, tries, script))
	return err == nil
}

// static gives the guest an address and a default route by hand.
func (g guest) static(t testing.TB, addr, gw string) {
	t.Helper()
	mustSh(t, fmt.Sprintf("ip netns exec %[1]s sh -c 'ip addr flush dev %[1]sg; ip addr add %[2]s dev %[1]sg; ip route replace default via %[3]s'", g.ns, addr, gw))
}

// addr is the guest's IPv4 address ("" when it has none).
func (g guest) addr(t testing.TB) string {
	t.Helper()
	out := mustSh(t, fmt.Sprintf("ip netns exec %[1]s ip -4 -o addr show dev %[1]sg", g.ns))
	if m := regexp.MustCompile(`inet ([0-9.]+)/`).FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// egress reports whether the guest reaches the external namespace's web
// server.
func (g guest) egress() bool {
	out, _ := exec.Command("ip", "netns", "exec", g.ns, "curl", "-s", "-m", "2", "http://"+clientAddr+"/").Output()
	return strings.TrimSpace(string(out)) == "ext"
}

// inbound reports whether the external namespace opens a connection to the
// guest's web server.
func (g guest) inbound(t testing.TB) bool {
	a := g.addr(t)
	out, _ := exec.Command("ip", "netns", "exec", extNS, "curl", "-s", "-m", "2", "http://"+a+"/").Output()
	return a != "" && strings.TrimSpace(string(out)) == g.ns
}

// fromContainer reports whether the web container opens a connection to the
// guest.
func (g guest) fromContainer(t testing.TB) bool {
	out, _ := lab.Sh(docker + " exec web timeout 2 wget -q -O - http://" + g.addr(t) + "/")
	return strings.TrimSpace(out) == g.ns
}

// matrix checks what a guest can do and logs it.
func (g guest) matrix(t testing.TB, title string, dhcp, egress, inbound bool) {
	t.Helper()
	tries := 2 // a failure costs a second a try
	if dhcp {
		tries = 6
	}
	got := [3]bool{g.dhcp(t, tries), false, false}
	if !got[0] && g.addr(t) == "" {
		t.Fatalf("%s: %s has no address to test egress with", title, g.ns)
	}
	got[1], got[2] = g.egress(), g.inbound(t)
	want := [3]bool{dhcp, egress, inbound}
	t.Logf("%s: %s on %s: dhcp %v, egress %v, inbound from outside %v", title, g.ns, g.bridge, got[0], got[1], got[2])
	if got != want {
		t.Errorf("%s: %s on %s: dhcp, egress, inbound = %v, want %v", title, g.ns, g.bridge, got, want)
	}
}

// natPaths counts the chains (iptables) and nftables chains that masquerade
// subnet: one path is right, two is a duplicate.
func natPaths(t testing.TB, subnet string) int {
	t.Helper()
	n := 0
	chains := map[string]bool{}
	for _, l := range strings.Split(mustSh(t, "iptables-save -t nat 2>/dev/null"), "\n") {
		if strings.Contains(l, "-s "+subnet+" ") && strings.Contains(l, "MASQUERADE") {
			chains[strings.Fields(l)[1]] = true
		}
	}
	n += len(chains)
	table, chain, counted := "", "", ""
	for _, l := range strings.Split(mustSh(t, "nft list ruleset 2>/dev/null"), "\n") {
		w := strings.Fields(l)
		switch {
		case len(w) > 2 && w[0] == "table":
			table = w[1] + " " + w[2]
		case len(w) > 1 && w[0] == "chain":
			chain = w[1]
		case table != "ip nat" && strings.Contains(l, "saddr "+subnet+" ") && strings.Contains(l, "masquerade") && counted != table+chain:
			counted = table + chain
			n++
		}
	}
	return n
}

// startLibvirt starts libvirtd with private configuration and its default
// network (virbr0, 192.168.122.0/24, dnsmasq) after Docker, as a host that
// installs libvirt later does.
func startLibvirt(t testing.TB) {
	t.Helper()
	mustSh(t, fmt.Sprintf(`for p in /etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
mkdir -p %[1]s/lv$p $p && cp -a $p/. %[1]s/lv$p/ && mount --bind %[1]s/lv$p $p; done; mkdir -p /run/libvirt`, dir))
	d, err := lab.Start(filepath.Join(dir, "libvirtd.log"), "libvirtd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		lab.Sh("virsh -c qemu:///system net-destroy default")
		d.Stop(10 * time.Second)
		// libvirt 9 leaves its (empty) chains and their jumps behind.
		lab.Sh(`for c in INP:INPUT OUT:OUTPUT FWX:FORWARD FWI:FORWARD FWO:FORWARD; do
iptables -D ${c#*:} -j LIBVIRT_${c%:*}; iptables -X LIBVIRT_${c%:*}; done
iptables -t nat -D POSTROUTING -j LIBVIRT_PRT; iptables -t nat -X LIBVIRT_PRT
iptables -t mangle -D POSTROUTING -j LIBVIRT_PRT; iptables -t mangle -X LIBVIRT_PRT; true`)
	})
	if err := lab.WaitFor(20*time.Second, func() error { _, err := lab.Sh("virsh -c qemu:///system net-list"); return err }); err != nil {
		t.Fatal(err)
	}
	mustSh(t, "virsh -c qemu:///system net-start default")
}

// startLXD starts LXD with its state in the lab and `lxd init --auto`,
// which makes lxdbr0 with a random 10.x.y.0/24 and nft table inet lxd; it
// returns that subnet.
func startLXD(t testing.TB) string {
	t.Helper()
	os.Setenv("LXD_DIR", filepath.Join(dir, "lxd"))
	d, err := lab.Start(filepath.Join(dir, "lxd.log"), "lxd", "--group", "root", "--logfile", filepath.Join(dir, "lxd-own.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		lab.Sh("timeout 10 lxd shutdown")
		d.Stop(10 * time.Second)
		// Its dnsmasq outlives it; it ends with the lab's PID namespace.
		lab.Sh("ip link del lxdbr0; nft delete table inet lxd")
	})
	mustSh(t, "timeout 30 lxd waitready && lxd init --auto")
	out := mustSh(t, "ip -4 -o addr show dev lxdbr0")
	m := regexp.MustCompile(`inet ([0-9.]+)\.1/24`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("lxdbr0 has no 10.x.y.1/24: %s", out)
	}
	return m[1] + ".0/24"
}

// TestGuestBridges: libvirt and LXD guests next to Docker and UFW, before
// and after install, and a hand-made bridge that needs our NAT.
func TestGuestBridges(t *testing.T) {
	lab.Need(t, "libvirtd", "virsh", "lxd", "dnsmasq")
	fresh(t)
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	startLibvirt(t)
	step("libvirt started after Docker: doctor names the jumps above DOCKER-USER", func(t *testing.T) {
		ids, _ := doctorIDs(t)
		if ids["docker-user-jump-not-first"] != 1 || ids["reject-above-ufw"] != 1 {
			t.Errorf("doctor after libvirt started: %v", ids)
		}
		t.Log(mustSh(t, "iptables -S FORWARD"))
	})
	lxdNet := startLXD(t)
	vm := newGuest(t, "udbvm", "virbr0")
	lxg := newGuest(t, "udblxg", "lxdbr0")
	// The external namespace routes the guest subnets to the host, so that
	// "inbound" is a real attempt, not a missing route.
	mustSh(t, fmt.Sprintf("ip netns exec %s sh -c 'ip route replace 192.168.122.0/24 via %s; ip route replace %s via %s'", extNS, hostAddr, lxdNet, hostAddr))
	lxdGW := strings.TrimSuffix(lxdNet, "0/24") + "1"

	step("before install", func(t *testing.T) {
		// libvirt's own iptables rules serve its guests ...
		vm.matrix(t, "before install", true, true, false)
		// ... LXD's nftables rules cannot: UFW's INPUT drops DHCP and
		// Docker's FORWARD DROP drops the rest.
		lxg.static(t, strings.TrimSuffix(lxdNet, "0/24")+"200/24", lxdGW)
		lxg.matrix(t, "before install", false, false, false)
		// When libvirt's rules are lost (an iptables-restore of a save from
		// before libvirt started), its guests are cut off too.
		mustSh(t, "for c in INP FWX FWI FWO; do iptables -F LIBVIRT_$c; done")
		vm.matrix(t, "before install, libvirt's rules flushed", false, false, false)
	})
	step("after install every guest has DHCP, DNS and egress, and stays closed from outside", func(t *testing.T) {
		mustBin(t, "install")
		vm.matrix(t, "after install", true, true, false)
		lxg.matrix(t, "after install", true, true, false)
		dns := mustSh(t, fmt.Sprintf("ip netns exec %s busybox nslookup lxd-test.invalid %s 2>&1; true", lxg.ns, lxdGW))
		if !strings.Contains(dns, "Server:") || strings.Contains(dns, "timed out") {
			t.Errorf("DNS from the LXD guest to its dnsmasq: %s", dns)
		}
		expect(t, "published ports stay closed", map[probe]bool{web: false, api: false})
		t.Log(mustBin(t, "status"))
	})
	step("each guest subnet is NATed once, through ufw reload and sync", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			for net, want := range map[string]int{"192.168.122.0/24": 1, lxdNet: 1} {
				if n := natPaths(t, net); n != want {
					t.Errorf("round %d: %s is masqueraded by %d paths, want %d", i, net, n, want)
				}
			}
			mustSh(t, "ufw reload")
			mustBin(t, "sync")
		}
		vm.matrix(t, "after ufw reload and sync", true, true, false)
		lxg.matrix(t, "after ufw reload and sync", true, true, false)
	})
	step("cross-bridge: a container cannot reach a VM until a ufw route rule opens it", func(t *testing.T) {
		if vm.fromContainer(t) {
			t.Error("container -> VM is open by default")
		}
		mustSh(t, "ufw route allow in on docker0 out on virbr0")
		if !vm.fromContainer(t) {
			t.Error("container -> VM stays closed with ufw route allow in on docker0 out on virbr0")
		}
		mustSh(t, "ufw route delete allow in on docker0 out on virbr0")
		if vm.fromContainer(t) {
			t.Error("container -> VM is open after the route rule was deleted")
		}
		webIP := strings.TrimSpace(mustSh(t, docker+" inspect -f '{{.NetworkSettings.IPAddress}}' web"))
		if out, _ := lab.Sh("ip netns exec " + vm.ns + " curl -s -m 2 http://" + webIP + "/"); strings.TrimSpace(out) == "web" {
			t.Error("VM -> container is open by default")
		}
	})
	step("a hand-made bridge: include, nat-off, exclude", func(t *testing.T) {
		mustSh(t, "ip link add udbvms0 type bridge && ip addr add 10.77.0.1/24 dev udbvms0 && ip link set udbvms0 up")
		t.Cleanup(func() { lab.Sh("ip link del udbvms0") })
		g := newGuest(t, "udbvg", "udbvms0")
		g.static(t, "10.77.0.2/24", "10.77.0.1")
		// The external namespace has no route back to 10.77.0.0/24: egress
		// works only through NAT, and only ours masquerades this subnet.
		g.matrix(t, "not included", false, false, false)
		mustBin(t, "bridge", "udbvms0", "include")
		g.matrix(t, "included", false, true, false)
		if n := natPaths(t, "10.77.0.0/24"); n != 1 {
			t.Errorf("10.77.0.0/24 masqueraded by %d paths, want 1 (ours)", n)
		}
		mustBin(t, "bridge", "udbvms0", "nat-off")
		g.matrix(t, "nat-off", false, false, false)
		mustBin(t, "delete", "bridge", "udbvms0", "nat-off")
		mustBin(t, "bridge", "udbvms0", "exclude")
		g.matrix(t, "excluded", false, false, false)
		mustBin(t, "delete", "bridge", "udbvms0", "exclude")
		g.matrix(t, "included again", false, true, false)
		mustBin(t, "delete", "bridge", "udbvms0", "include")
		if n := natPaths(t, "10.77.0.0/24"); n != 0 {
			t.Errorf("10.77.0.0/24 masqueraded by %d paths after the bridge rule was deleted", n)
		}
	})
	step("a bridge that appears later is served by sync, and by the watcher without a command", func(t *testing.T) {
		mustBin(t, "bridge", "udbvms+", "include")
		defer runBin("delete", "bridge", "udbvms+", "include")
		mustSh(t, "ip link add udbvms2 type bridge && ip addr add 10.79.0.1/24 dev udbvms2 && ip link set udbvms2 up")
		t.Cleanup(func() { lab.Sh("ip link del udbvms2") })
		g2 := newGuest(t, "udbvg2", "udbvms2")
		g2.static(t, "10.79.0.2/24", "10.79.0.1")
		if g2.egress() {
			t.Error("a new bridge's guest has egress before sync")
		}
		if out := mustBin(t, "sync"); !strings.Contains(out, "10.79.0.0/24") {
			t.Errorf("sync does not say it NATs the new subnet: %s", out)
		}
		if !g2.egress() {
			t.Error("a new bridge's guest has no egress after sync")
		}
		w := startWatcher(t)
		defer w.Stop(t)
		mustSh(t, "ip link add udbvms1 type bridge && ip addr add 10.78.0.1/24 dev udbvms1 && ip link set udbvms1 up")
		t.Cleanup(func() { lab.Sh("ip link del udbvms1") })
		g := newGuest(t, "udbvg1", "udbvms1")
		g.static(t, "10.78.0.2/24", "10.78.0.1")
		start := time.Now()
		if err := lab.WaitFor(10*time.Second, func() error {
			if !g.egress() {
				return fmt.Errorf("no egress")
			}
			return nil
		}); err != nil {
			t.Fatalf("a new bridge under an include pattern has no egress after 10 s: %v\n%s", err, mustSh(t, "cat "+w.Log))
		}
		t.Logf("egress through our NAT %v after the bridge appeared", time.Since(start).Round(time.Millisecond))
	})
	step("uninstall takes our rules and NAT away", func(t *testing.T) {
		mustBin(t, "uninstall")
		if out := mustSh(t, "nft list tables"); strings.Contains(out, "ufw-docker-bridge-nat") {
			t.Errorf("our NAT table survived uninstall:\n%s", out)
		}
		vm.matrix(t, "after uninstall, libvirt's rules still flushed", false, false, false)
		lxg.matrix(t, "after uninstall", false, false, false)
	})
}

// TestPodman: a Podman container (under CNI: cni-podman0; under netavark:
// podman0) publishes a port next to Docker. Nothing accepts NEW connections
// to Podman's published ports in FORWARD, so next to Docker's FORWARD DROP the
// port is dead before install; after install it follows the same rules as
// Docker's: closed until allowed.
func TestPodman(t *testing.T) {
	lab.Need(t, "podman")
	tar, err := lab.BusyboxImage(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustSh(t, fmt.Sprintf("mkdir -p %[1]s/etc-containers && cp -a /etc/containers/. %[1]s/etc-containers/ && mount --bind %[1]s/etc-containers /etc/containers", dir))
	for i, backend := range []string{"cni", "netavark"} {
		t.Run(backend, func(t *testing.T) {
			fresh(t)
			mustSh(t, `printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n[network]\nnetwork_backend = "`+backend+`"\n' > /etc/containers/containers.conf`)
			pod := fmt.Sprintf("podman --root %[1]s/podman-root-%[2]s --runroot %[1]s/podman-run-%[2]s", dir, backend)
			mustSh(t, pod+" import "+tar+" bb:1")
			port := 8090 + i
			mustSh(t, fmt.Sprintf(pod+` run -d --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --name pw -p %d:80 bb:1 sh -c 'mkdir -p /www && echo pod > /www/index.html && exec httpd -f -p 80 -h /www'`, port))
			// Both backends give their bridge 10.88.0.0/16: the next one's
			// routes need this one's bridge gone.
			defer lab.Sh(pod + " rm -f -t 1 pw; ip link del cni-podman0; ip link del podman0")
			podWeb := probe{name: "podman web", from: clientAddr, port: port, want: "pod"}
			podWebLAN := probe{name: "podman web", from: lanAddr, port: port, want: "pod"}
			egress := func(t *testing.T) {
				t.Helper()
				if out, _ := lab.Sh(pod + " exec pw timeout 3 wget -q -O - http://" + deniedAddr + "/"); strings.TrimSpace(out) != "ext" {
					t.Errorf("podman container egress: got %q, want ext", out)
				}
			}
			t.Log(mustSh(t, "ip -br link show type bridge"))
			expect(t, "before install", map[probe]bool{podWeb: false, web: true})
			egress(t)
			mustBin(t, "install")
			defer runBin("uninstall")
			expect(t, "after install", map[probe]bool{podWeb: false, web: false})
			egress(t)
			rule := []string{fmt.Sprintf("%d/tcp", port), "from", lanNet}
			mustBin(t, append([]string{"allow"}, rule...)...)
			expect(t, "allowed from the LAN", map[probe]bool{podWeb: false, podWebLAN: true, web: false})
			egress(t)
			mustBin(t, append([]string{"delete", "allow"}, rule...)...)
			expect(t, "allow deleted", map[probe]bool{podWeb: false, podWebLAN: false})
			t.Log(mustBin(t, "status"))
		})
	}
}
