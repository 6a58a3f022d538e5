package discover

import (
	"net/netip"
	"os"
	"strings"
	"testing"

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
	got := joined(MasqueradedNFT(string(text), "inet ufw-docker-bridge-nat"))
	want := "10.205.11.0/24 fd42:a062:5893:7ae2::/64 0.0.0.0/0 10.1.0.0/16 10.2.0.0/16"
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
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
COMMIT
`)
	if err != nil {
		t.Fatal(err)
	}
	got := joined(MasqueradedSave(d.Table("nat"), rules.IPv4))
	want := "172.17.0.0/16 172.17.0.2/32 192.168.122.0/24 10.88.0.0/16 0.0.0.0/0"
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
