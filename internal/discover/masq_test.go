package discover

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func joined(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, " ")
}

func TestMasqueradedNFT(t *testing.T) {
	text, err := os.ReadFile("testdata/lxd.nft-ruleset")
	if err != nil {
		t.Fatal(err)
	}
	// iptables-nft's xt MASQUERADE is counted from iptables-save, not here;
	// LXD's two, the router's catch-all (IPv4 only: table ip), the set; not ours.
	got := joined(MasqueradedNFT(string(text), "inet ufw-docker-bridge-nat", []string{"eth0"}))
	want := "10.205.11.0/24 fd42:a062:5893:7ae2::/64 0.0.0.0/0 10.1.0.0/16 10.2.0.0/16"
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	// Where eth0 carries no default route (the router's uplink is another),
	// its catch-all covers no subnet's way out.
	got = joined(MasqueradedNFT(string(text), "inet ufw-docker-bridge-nat", []string{"wan0"}))
	if want := "10.205.11.0/24 fd42:a062:5893:7ae2::/64 10.1.0.0/16 10.2.0.0/16"; got != want {
		t.Errorf("uplink wan0: got %s\nwant %s", got, want)
	}
}

func TestMasqueradedSave(t *testing.T) {
	d, err := rules.ParseSave(`*nat
:POSTROUTING ACCEPT [0:0]
:LIBVIRT_PRT - [0:0]
:NETAVARK-1D8721804F16F - [0:0]
:CNI-abc - [0:0]
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
-A POSTROUTING -j LIBVIRT_PRT
-A POSTROUTING -s 10.88.0.0/16 -j NETAVARK-1D8721804F16F
-A POSTROUTING -j CNI-abc
-A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -p tcp -j MASQUERADE --to-ports 1024-65535
-A NETAVARK-1D8721804F16F ! -d 224.0.0.0/4 -j MASQUERADE
-A CNI-abc ! -d 224.0.0.0/4 -j MASQUERADE
-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A POSTROUTING -s 10.0.0.0/8 -o wgx -j MASQUERADE
-A POSTROUTING -s 100.64.0.0/10 -o eth+ -j MASQUERADE
COMMIT
`)
	if err != nil {
		t.Fatal(err)
	}
	got := joined(MasqueradedSave(d.Table("nat"), rules.IPv4, []string{"eth0"}))
	// Docker's hairpin rule (-d X/32), CNI's mark-limited masquerade and a
	// VPN's masquerade out of wgx (not the uplink) NAT no subnet's traffic
	// out; one out of eth+ (the uplink eth0 matches) does.
	want := "172.17.0.0/16 100.64.0.0/10 192.168.122.0/24 10.88.0.0/16 0.0.0.0/0"
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestDescribe(t *testing.T) {
	text, err := os.ReadFile("testdata/lxd.nft-ruleset")
	if err != nil {
		t.Fatal(err)
	}
	owners := OwnersFromNFT(string(text))
	filter, err := rules.ParseSave("*filter\n:LIBVIRT_FWO - [0:0]\n-A LIBVIRT_FWO -s 192.168.100.0/24 -i labnet -j ACCEPT\nCOMMIT\n")
	if err != nil {
		t.Fatal(err)
	}
	for br, o := range OwnersFromSave(filter.Table("filter")) {
		owners[br] = o
	}
	var settings rules.Ruleset
	for _, l := range []string{"bridge br-vms include", "bridge virbr9 exclude"} {
		r, _ := rules.Parse(strings.Fields(l))
		settings = append(settings, r)
	}
	bs := []Bridge{
		{Name: "lxdbr0", Owner: OwnerLXD, Addrs: prefixes("10.205.11.1/24", "fd42:a062:5893:7ae2::1/64")},
		{Name: "labnet", Owner: OwnerUnknown, Addrs: prefixes("192.168.100.1/24")},
		{Name: "docker0", Owner: OwnerDocker, Addrs: prefixes("172.17.0.1/16")},
		{Name: "br-vms", Owner: OwnerUnknown, Addrs: prefixes("10.77.0.1/24")},
		{Name: "virbr9", Owner: OwnerLibvirt, Addrs: prefixes("198.51.100.1/24")},
	}
	role := func(name string) string { return plan.RoleOf(settings.Bridges(), []string{"docker0"}, name) }
	got := Describe(bs, owners, role,
		MasqueradedNFT(string(text), "inet ufw-docker-bridge-nat", []string{"eth0"}), []netip.Prefix{netip.MustParsePrefix("10.77.0.0/24")})
	var lines []string
	for _, b := range got {
		lines = append(lines, b.Name+" "+b.Owner+" "+b.Role+" "+strings.Join(b.NAT, ","))
	}
	want := []string{
		"lxdbr0 lxd guests 10.205.11.0/24 owner,fd42:a062:5893:7ae2::/64 owner",
		"labnet libvirt - 192.168.100.0/24 owner", // the router's catch-all masquerade (0.0.0.0/0)
		"docker0 docker containers 172.17.0.0/16 owner",
		"br-vms unknown guests 10.77.0.0/24 owner",
		"virbr9 libvirt excluded 198.51.100.0/24 owner",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Without the router's catch-all, br-vms is ours and the public subnet
	// and the unmanaged one are routed.
	masq := MasqueradedNFT(strings.Replace(string(text), "oifname \"eth0\" masquerade", "", 1), "inet ufw-docker-bridge-nat", []string{"eth0"})
	got = Describe(bs, owners, role, masq, []netip.Prefix{netip.MustParsePrefix("10.77.0.0/24")})
	if g := got[3].NAT[0] + "|" + got[4].NAT[0] + "|" + got[1].NAT[0]; g != "10.77.0.0/24 ufw-docker-bridge|198.51.100.0/24 none|192.168.100.0/24 none" {
		t.Errorf("NAT states %s", g)
	}
	// CNI masquerades each container's address: the bridge's subnet is its
	// owner's, address by address.
	pod := []Bridge{{Name: "cni-podman0", Owner: OwnerPodman, Addrs: prefixes("10.88.0.1/16")}}
	got = Describe(pod, nil, role, []netip.Prefix{netip.MustParsePrefix("10.88.0.2/32")}, nil)
	if g := got[0].Role + " " + got[0].NAT[0]; g != "containers 10.88.0.0/16 owner (per address)" {
		t.Errorf("podman bridge: %s", g)
	}
}

// prefixes parses addresses with their prefix length, as netlink gives them.
func prefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}
