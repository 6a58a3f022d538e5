package integration

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// TestOffCanonicalPath: the setups off the canonical path that left a port
// open, each with real packets from the external namespace:
//   - a Docker network with a bridge name of its own
//     (com.docker.network.bridge.name), before and after install, allowed,
//     denied, and one created later under the watcher;
//   - `allow 80` does not open container port 80 to traffic routed straight
//     to a container's address (web publishes 8080:80);
//   - `allow N` for a port published on 127.0.0.1 does not open it to a
//     neighbour that sends to 127.0.0.1 through the host's MAC address;
//   - `bridge br-lan exclude` leaves an admin's br-lan to its owner (a ufw
//     route rule serves it, the guard lets it alone);
//   - `bridge br-vms include` gives its guest a way out although Docker's
//     name pattern br-+ matches it, and although an admin's VPN NAT rule
//     (-s 10.0.0.0/8 -o wgx) covers its subnet by source.
func TestOffCanonicalPath(t *testing.T) {
	fresh(t)
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	o := offPathLab(t)
	defer o.cleanup()
	defer lab.Sh(docker + " rm -f mail2; " + docker + " network rm mailnet2")
	defer runBin("uninstall")
	mail, mailDenied, direct, webIP := o.mail, o.mailDenied, o.direct, o.webIP

	step("before install the renamed bridge's port and routed traffic are open", func(t *testing.T) {
		expect(t, "before install", map[probe]bool{mail: true, direct: true})
	})
	step("install closes the renamed bridge's port; status names it Docker's", func(t *testing.T) {
		mustBin(t, "install")
		expect(t, "after install", map[probe]bool{mail: false, direct: false})
		out := mustBin(t, "status", "--verbose")
		if !regexpMatch(`(?m)^\s*mailnet\s+docker\s+containers`, out) {
			t.Errorf("status does not name mailnet Docker's container bridge:\n%s", out)
		}
		if !strings.Contains(readUFW(t)["after.rules"], "-A ufw-docker-bridge-user -o mailnet -j ufw-docker-bridge-forward") {
			t.Error("after.rules does not know mailnet: a ufw reload would load a block without it")
		}
	})
	step("allow and deny decide for it; allow 80 opens no routed traffic", func(t *testing.T) {
		mustBin(t, "allow", "2525")
		mustBin(t, "allow", "80")
		mustBin(t, "deny", "from", deniedAddr)
		expect(t, "allow 2525, allow 80, deny from "+deniedAddr, map[probe]bool{mail: true, mailDenied: false, direct: false})
		mustSh(t, "ufw reload")
		expect(t, "after ufw reload", map[probe]bool{mail: true, mailDenied: false, direct: false})
	})
	step("a loopback publish stays local whatever allow says", func(t *testing.T) {
		mustBin(t, "allow", "8089")
		local, undo := loopbackNeighbour(t)
		defer undo()
		// The probe does reach a loopback publish: with our forward chain
		// out of the way (uninstalled), it answers.
		runBin("uninstall")
		expect(t, "a loopback publish from the neighbour, uninstalled", map[probe]bool{local: true})
		mustBin(t, "install")
		expect(t, "the same, installed and allowed", map[probe]bool{local: false, mail: true})
	})
	step("a renamed network created later is closed within one pass of the watcher", func(t *testing.T) {
		w := startWatcher(t)
		stopped := false
		defer func() {
			if !stopped {
				w.Stop(t)
			}
		}()
		mustSh(t, docker+" network create -o com.docker.network.bridge.name=mailnet2 mailnet2 && "+
			docker+" run -d --name mail2 --network mailnet2 -p 2626:80 bb:1 "+httpdCmd+" mail2 80")
		mail2 := probe{name: "mail2(mailnet2)", from: clientAddr, port: 2626, want: "mail2"}
		if err := lab.WaitFor(5*time.Second, func() error {
			if mail2.open() {
				return fmt.Errorf("2626 still open")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		expect(t, "mailnet2 created under the watcher", map[probe]bool{mail2: false, mail: true})
		// The guard covers it too: with our iptables chain flushed, the
		// guard alone keeps it closed until the watcher repairs.
		w.Stop(t)
		stopped = true
		mustSh(t, "iptables -F DOCKER-USER")
		expect(t, "DOCKER-USER flushed, no watcher: the guard", map[probe]bool{mail2: false, mail: false})
		mustBin(t, "sync")
	})
	step("an excluded br-lan is left to its owner: a ufw route rule serves it", func(t *testing.T) {
		lanHost := adminBridge(t, "br-lan", "udblan", "10.78.0.1/24", "10.78.0.5/24")
		if lanHost.inbound(t) {
			t.Fatal("br-lan answers with no rule opening it")
		}
		mustBin(t, "bridge", "br-lan", "exclude")
		mustSh(t, "ufw route allow proto tcp to 10.78.0.0/24 port 80")
		defer lab.Sh("ufw route delete allow proto tcp to 10.78.0.0/24 port 80")
		defer runBin("delete", "bridge", "br-lan", "exclude")
		if !lanHost.inbound(t) {
			t.Errorf("excluded br-lan: the ufw route rule does not serve it:\n%s", mustSh(t, "nft list table inet ufw-docker-bridge"))
		}
		mustSh(t, "ufw route delete allow proto tcp to 10.78.0.0/24 port 80")
		if lanHost.inbound(t) {
			t.Error("excluded br-lan answers without a ufw route rule: UFW's default no longer decides")
		}
	})
	step("an included br-vms has its way out; its NEW connections to containers are still ours", func(t *testing.T) {
		vm := adminBridge(t, "br-vms", "udbvm", "10.77.0.1/24", "10.77.0.5/24")
		// An admin's NAT for a VPN only (out of wgx, not an uplink) covers
		// 10.77.0.0/24 by source, not its way out by ext0: our NAT is needed.
		mustSh(t, "ip link add wgx type veth peer name wgxp && ip link set wgx up && iptables -t nat -A POSTROUTING -s 10.0.0.0/8 -o wgx -j MASQUERADE")
		defer lab.Sh("iptables -t nat -D POSTROUTING -s 10.0.0.0/8 -o wgx -j MASQUERADE; ip link del wgx")
		mustBin(t, "bridge", "br-vms", "include")
		defer runBin("delete", "bridge", "br-vms", "include")
		if !vm.egress() {
			t.Errorf("br-vms's guest has no way out:\n%s", mustSh(t, "iptables -S DOCKER-USER"))
		}
		if vm.inbound(t) {
			t.Error("br-vms's guest is open from outside")
		}
		// web publishes 8080:80 and is not allowed (only 80, 2525, 8089).
		out, _ := lab.Sh("ip netns exec udbvm curl -s -m 2 http://" + webIP + "/")
		if strings.TrimSpace(out) == "web" {
			t.Error("br-vms's guest reaches a container's unpublished address directly")
		}
	})
}

// adminBridge makes a bridge of the admin's, name, with the host at gw, a
// host behind it in namespace ns at addr (both CIDR), and a route to it
// from the external client; the test's end removes all of it.
func adminBridge(t *testing.T, name, ns, gw, addr string) guest {
	t.Helper()
	net := netip.MustParsePrefix(gw).Masked().String()
	mustSh(t, "ip link add "+name+" type bridge && ip addr add "+gw+" dev "+name+" && ip link set "+name+" up && "+
		"ip netns exec "+extNS+" ip route replace "+net+" via "+hostAddr)
	t.Cleanup(func() { lab.Sh("ip netns exec " + extNS + " ip route del " + net + "; ip link del " + name) })
	g := newGuest(t, ns, name)
	g.static(t, addr, strings.Split(gw, "/")[0])
	return g
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// httpdCmd is a busybox web server serving its first argument on port $1.
const httpdCmd = "sh -c 'mkdir -p /www && echo $0 > /www/index.html && exec httpd -f -p $1 -h /www'"

// offPath is what the off-path tests probe: mail on a network whose bridge
// is named mailnet (2525), from the client and the denied client; web's
// port 80 routed straight to its address (no DNAT); and local, published on
// 127.0.0.1:8089.
type offPath struct {
	mail, mailDenied, direct probe
	webIP                    string
	cleanup                  func()
}

func offPathLab(t *testing.T) offPath {
	t.Helper()
	mustSh(t, docker+" network create -o com.docker.network.bridge.name=mailnet mailnet && "+
		docker+" run -d --restart always --name mail --network mailnet -p 2525:80 bb:1 "+httpdCmd+" mail 80 && "+
		docker+" run -d --restart always --name local -p 127.0.0.1:8089:80 bb:1 "+httpdCmd+" local 80")
	webIP := strings.TrimSpace(mustSh(t, docker+" inspect -f '{{.NetworkSettings.IPAddress}}' web"))
	// The external client routes Docker's default network through the host.
	mustSh(t, "ip netns exec "+extNS+" ip route replace 172.17.0.0/16 via "+hostAddr)
	return offPath{
		mail:       probe{name: "mail(mailnet)", from: clientAddr, port: 2525, want: "mail"},
		mailDenied: probe{name: "mail(mailnet)", from: deniedAddr, port: 2525, want: "mail"},
		direct:     probe{name: "web routed to " + webIP, from: clientAddr, port: 80, want: "web", addr: webIP},
		webIP:      webIP,
		cleanup: func() {
			lab.Sh("ip netns exec " + extNS + " ip route del 172.17.0.0/16; " + docker + " rm -f mail local; " + docker + " network rm mailnet")
		},
	}
}

// loopbackNeighbour makes the host route to 127/8 from outside
// (route_localnet, as Docker sets it without its userland proxy) and the
// external client a neighbour whose packets to 127.0.0.1 leave through its
// link to the host; it returns the probe of local's loopback publish and
// what undoes it.
func loopbackNeighbour(t *testing.T) (probe, func()) {
	t.Helper()
	mustSh(t, "sysctl -qw net.ipv4.conf.ext0.route_localnet=1 net.ipv4.conf.all.route_localnet=1")
	mac := strings.TrimSpace(mustSh(t, "ip -br link show ext0 | awk '{print $3}'"))
	mustSh(t, fmt.Sprintf(`ip netns exec %[1]s sh -c 'sysctl -qw net.ipv4.conf.ext1.route_localnet=1 net.ipv4.conf.all.route_localnet=1 &&
ip rule add pref 1000 lookup local && ip rule del pref 0 &&
ip rule add pref 10 to 127.0.0.1/32 iif lo lookup 100 && ip route add 127.0.0.1/32 via %[2]s dev ext1 onlink table 100 &&
ip neigh replace %[2]s lladdr %[3]s dev ext1'`, extNS, hostAddr, mac))
	undo := func() {
		lab.Sh("sysctl -qw net.ipv4.conf.ext0.route_localnet=0 net.ipv4.conf.all.route_localnet=0")
		lab.Sh(fmt.Sprintf(`ip netns exec %s sh -c 'ip rule del pref 10; ip route flush table 100; ip rule add pref 0 lookup local; ip rule del pref 1000'`, extNS))
	}
	return probe{name: "local(127.0.0.1:8089)", from: clientAddr, port: 8089, want: "local", addr: "127.0.0.1"}, undo
}

// TestOffPathOtherBackends: the same cases next to firewalld and on the
// iptables backend (UFW disabled): the renamed bridge's port closed until
// allowed and the denied client kept out; allow 80 opening no routed
// traffic; allow 8089 not opening a loopback publish. Next to firewalld,
// also an install while Docker lags (installWhileDockerLags).
func TestOffPathOtherBackends(t *testing.T) {
	lab.Need(t, "firewalld", "firewall-cmd", "dbus-daemon")
	fresh(t)
	o := offPathLab(t)
	defer o.cleanup()
	local, undo := loopbackNeighbour(t)
	defer undo()
	mustSh(t, "ufw disable")
	defer mustSh(t, "ufw --force enable")
	// Without UFW and without us, Docker alone decides: all three answer.
	expect(t, "UFW disabled, uninstalled", map[probe]bool{o.mail: true, o.direct: true, local: true})
	check := func(t *testing.T, backend string) {
		mustBin(t, "install", "--backend", backend)
		defer runBin("uninstall")
		expect(t, backend+": installed", map[probe]bool{o.mail: false, o.direct: false, local: false})
		for _, args := range [][]string{{"allow", "2525"}, {"allow", "80"}, {"allow", "8089"}, {"deny", "from", deniedAddr}} {
			mustBin(t, args...)
		}
		expect(t, backend+": allow 2525, 80, 8089, deny from "+deniedAddr,
			map[probe]bool{o.mail: true, o.mailDenied: false, o.direct: false, local: false})
	}
	t.Run("iptables", func(t *testing.T) {
		defer fresh(t)
		check(t, "iptables")
	})
	t.Run("firewalld", func(t *testing.T) {
		defer fresh(t)
		startFirewalldLab(t)
		labFirewall = plan.FirewallD
		defer func() { labFirewall = plan.UFW }()
		check(t, "firewalld")
		t.Run("install while Docker lags", func(t *testing.T) { installWhileDockerLags(t, o.mail) })
	})
}

// TestDockerFirewallOff: with Docker's "iptables": false, docker-proxy
// serves published ports through INPUT, where nothing in DOCKER-USER
// decides. allow and deny say so and change nothing, unless --host-too
// lets the rule decide in our input chain; there it does, with real
// packets.
func TestDockerFirewallOff(t *testing.T) {
	fresh(t)
	dockerd.Stop()
	// Docker leaves its chains behind when it stops: without them, no DNAT
	// of an earlier run answers for it.
	mustSh(t, "iptables -t nat -F DOCKER; iptables -F DOCKER")
	if err := dockerd.Start("--iptables=false"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		runBin("uninstall")
		restartDockerd(t)
	}()
	mustSh(t, "for i in $(seq 100); do "+docker+" ps --format '{{.Names}}' | grep -qx api && exit 0; sleep 0.2; done; exit 1")
	api := probe{name: "api(docker-proxy)", from: clientAddr, port: 9443, want: "api"}
	apiDenied := probe{name: "api(docker-proxy)", from: deniedAddr, port: 9443, want: "api"}
	if err := lab.WaitFor(5*time.Second, func() error {
		if out, err := lab.Sh("ss -ltn | grep -q ':9443 '"); err != nil {
			return fmt.Errorf("docker-proxy does not listen on 9443: %v %s", err, out)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mustBin(t, "install")
	expect(t, "iptables false, installed", map[probe]bool{api: false})
	before := mustBin(t, "list")
	for _, args := range [][]string{{"allow", "9443"}, {"deny", "from", deniedAddr}} {
		out, errs, code := runBin(args...)
		t.Logf("$ ufw-docker-bridge %s: exit %d: %s%s", strings.Join(args, " "), code, out, errs)
		if code != 1 || !strings.Contains(errs, "Docker does not manage this host's published ports") || !strings.Contains(errs, "--host-too") {
			t.Errorf("%v: exit %d, %q: want exit 1 and one line saying what decides instead", args, code, errs)
		}
		if strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: more than one line: %q", args, errs)
		}
	}
	if after := mustBin(t, "list"); after != before {
		t.Errorf("a refused rule changed the rules:\n%s\nthen\n%s", before, after)
	}
	mustBin(t, "allow", "9443", "--host-too")
	mustBin(t, "deny", "from", deniedAddr, "--host-too")
	expect(t, "allow 9443 --host-too, deny from "+deniedAddr+" --host-too", map[probe]bool{api: true, apiDenied: false})
}

// TestSwarmHostMode: a Swarm service published in host mode on an overlay
// network: its DNAT goes to Swarm's docker_gwbridge, a bridge no name
// pattern of ours matches. Closed after install, opened by allow, denied by
// deny, with real packets. (The routing mesh needs IPVS, which this
// kernel lacks: its ingress layout is covered by a recorded ruleset.)
func TestSwarmHostMode(t *testing.T) {
	fresh(t)
	mustSh(t, docker+" swarm init --advertise-addr "+hostAddr)
	defer lab.Sh(docker + " swarm leave --force")
	mustSh(t, docker+" network create -d overlay --attachable ov")
	mustSh(t, docker+" service create --detach --no-resolve-image --name hs --network ov "+
		"--publish mode=host,target=80,published=8098 bb:1 sh -c 'mkdir -p /www && echo hs > /www/index.html && exec httpd -f -p 80 -h /www'")
	defer lab.Sh(docker + " service rm hs")
	hs := probe{name: "hs(swarm host mode)", from: clientAddr, port: 8098, want: "hs"}
	hsDenied := probe{name: "hs(swarm host mode)", from: deniedAddr, port: 8098, want: "hs"}
	if err := lab.WaitFor(60*time.Second, func() error {
		if !hs.open() {
			return fmt.Errorf("the service does not answer on 8098")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v:\n%s", err, mustSh(t, docker+" service ps --no-trunc hs; iptables -t nat -S DOCKER"))
	}
	if !strings.Contains(mustSh(t, "iptables -S FORWARD"), "-o docker_gwbridge") {
		t.Fatalf("the service's traffic does not use docker_gwbridge:\n%s", mustSh(t, "iptables -S FORWARD"))
	}
	expect(t, "swarm host mode, before install", map[probe]bool{hs: true})
	mustBin(t, "install")
	defer runBin("uninstall")
	// A container that labels itself a task of hs is not one: only the
	// tasks Swarm's manager lists count for service:hs.
	mustSh(t, docker+" run -d --name hsforger --label com.docker.swarm.service.name=hs --label com.docker.swarm.service.id=x -p 8099:80 bb:1 "+
		"sh -c 'mkdir -p /www && echo hsforger > /www/index.html && exec httpd -f -p 80 -h /www'")
	defer lab.Sh(docker + " rm -f hsforger")
	forger := probe{name: "hsforger(labelled as a task of hs)", from: clientAddr, port: 8099, want: "hsforger"}
	expect(t, "installed", map[probe]bool{hs: false, forger: false})
	// A plain name is a container's: no container is named hs.
	mustBin(t, "allow", "to", "hs")
	expect(t, "allow to hs (no such container)", map[probe]bool{hs: false, forger: false})
	mustBin(t, "delete", "allow", "to", "hs")
	mustBin(t, "allow", "to", "service:hs")
	expect(t, "allow to service:hs", map[probe]bool{hs: true, forger: false})
	mustBin(t, "delete", "allow", "to", "service:hs")
	mustBin(t, "allow", "8098")
	mustBin(t, "deny", "from", deniedAddr)
	expect(t, "allow 8098, deny from "+deniedAddr, map[probe]bool{hs: true, hsDenied: false, forger: false})
}

// TestDockerAPINamesTheBridge: Docker's rules are not the only fact. With
// every rule of Docker's that names the renamed bridge gone (as a firewalld
// reload leaves it until Docker puts them back), install still covers
// mailnet, because Docker's API names it; once Docker writes its rules
// again (a restart), its port is closed, with no watcher running.
func TestDockerAPINamesTheBridge(t *testing.T) {
	fresh(t)
	o := offPathLab(t)
	defer o.cleanup()
	expect(t, "uninstalled", map[probe]bool{o.mail: true})
	mustSh(t, `iptables-save -t filter | grep -E -e '-[io] mailnet( |$)' | grep -v -e DOCKER-USER -e ufw-docker-bridge | sed 's/^-A /-D /' |
while read -r rule; do eval iptables "$rule"; done; ! iptables-save -t filter | grep -q mailnet`)
	mustBin(t, "install")
	defer runBin("uninstall")
	if out := mustBin(t, "status"); !regexp.MustCompile(`(?m)^\s+mailnet\s+docker\s+containers`).MatchString(out) {
		t.Errorf("status does not call mailnet Docker's while its rules are gone:\n%s", out)
	}
	restartDockerd(t)
	expect(t, "installed while Docker's rules for mailnet were gone, then Docker restarted", map[probe]bool{o.mail: false})
}
