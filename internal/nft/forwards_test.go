package nft

import (
	"net/netip"
	"os"
	"strings"
	"testing"
)

func TestParseForwards(t *testing.T) {
	// nft 1.0.6's `nft -j list chain` of a prerouting chain with three
	// forwards as plan.Forward writes them and one rule added by hand.
	data, err := os.ReadFile("testdata/nat-prerouting.json")
	if err != nil {
		t.Fatal(err)
	}
	fs, unread, err := ParseForwards(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2222/tcp to 10.1.2.3:22 from 203.0.113.0/24", "53/tcp+udp to 10.1.2.3:53", "2222/tcp to [fd00::3]:22 from 2001:db8::/64"}
	if len(fs) != 4 {
		t.Fatalf("got %d forwards, want 4 (the rule added by hand as a zero one): %v", len(fs), fs)
	}
	for i, w := range want {
		if fs[i].String() != w {
			t.Errorf("forward %d: %q, want %q", i+1, fs[i], w)
		}
	}
	if fs[0].Comment != "ssh vm" || fs[3].Dest.IsValid() {
		t.Errorf("comment %q; the rule added by hand read as %v", fs[0].Comment, fs[3])
	}
	if len(unread) != 1 || !strings.Contains(unread[0], "#4") {
		t.Errorf("unread: %q, want the 4th rule", unread)
	}
	if fs[1].Source.IsValid() || fs[1].Dest != netip.MustParseAddr("10.1.2.3") {
		t.Errorf("forward 2: %+v", fs[1])
	}
	if _, _, err := ParseForwards([]byte("{")); err == nil {
		t.Error("cut-short JSON read without an error")
	}
}
