package plan

import (
	"net/netip"
	"strings"
	"testing"
)

// The guard's elements: ranges kept, each once; loopback, IPv6, other
// protocols and malformed ports left out; the nft script says the same.
func TestGuardKeys(t *testing.T) {
	host := netip.MustParseAddr("203.0.113.1")
	ports := []Published{
		{Proto: "tcp", Port: "8080"}, {Proto: "tcp", Port: "8080"}, {Proto: "udp", Port: "5000:5010"},
		{Proto: "tcp", Port: "9443", Addr: host}, {Proto: "tcp", Port: "7000", Addr: netip.MustParseAddr("127.0.0.1")},
		{Proto: "tcp", Port: "7001", Addr: netip.MustParseAddr("2001:db8::1")}, {Proto: "sctp", Port: "9"},
		{Proto: "tcp", Port: "x"}, {Proto: "tcp", Port: "20:10"},
	}
	want := []GuardKey{{"tcp", 8080, 8080, netip.Addr{}}, {"udp", 5000, 5010, netip.Addr{}}, {"tcp", 9443, 9443, host}}
	got := GuardKeys(ports)
	if len(got) != len(want) {
		t.Fatalf("GuardKeys = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("key %d: %v, want %v", i, got[i], want[i])
		}
	}
	script := GuardElements(GuardKeys(ports))
	for _, w := range []string{"published { tcp . 8080, udp . 5000-5010 }", "published-addr { 203.0.113.1 . tcp . 9443 }"} {
		if !strings.Contains(script, w) {
			t.Errorf("script lacks %q:\n%s", w, script)
		}
	}
}
