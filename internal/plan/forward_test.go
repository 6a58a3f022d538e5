package plan

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func TestExpandForwards(t *testing.T) {
	rs := mustRules(t, "allow 80", "forward 2222/tcp to vm1:22", "forward 8053/udp to lxd:dns from 203.0.113.0/24", "forward 9000 to gone")
	addrs := map[string][]netip.Addr{
		"vm1":     {netip.MustParseAddr("10.0.3.5"), netip.MustParseAddr("fd42::5")},
		"lxd:dns": {netip.MustParseAddr("10.0.3.6"), netip.MustParseAddr("fd42::6")},
	}
	labels := []string{"1: allow 80", "2: forward", "3: forward", "4: forward"}
	out, outLabels := ExpandForwards(rs, labels, addrs)
	var got []string
	for i, r := range out {
		got = append(got, r.String()+" -> "+r.Dest.String()+" ("+outLabels[i]+")")
	}
	want := []string{
		"allow 80 -> invalid IP (1: allow 80)",
		"forward 2222/tcp to vm1:22 -> 10.0.3.5 (2: forward)",
		"forward 2222/tcp to vm1:22 -> fd42::5 (2: forward)",
		// An IPv4 source keeps the forward to the guest's IPv4 address.
		"forward 8053/udp to lxd:dns from 203.0.113.0/24 -> 10.0.3.6 (3: forward)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("expanded:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out, l := ExpandForwards(rs, nil, nil); len(out) != 1 || l != nil {
		t.Errorf("no guest found: %v %v, want the allow rule alone", out, l)
	}
	if g := Guests(mustRules(t, "forward 1 to a", "forward 2 to b", "forward 3/udp to a:53")); !slices.Equal(g, []string{"a", "b"}) {
		t.Errorf("Guests = %v", g)
	}
}

// TestForwardRules: a found forward opens exactly its guest's port, to
// connections we DNAT'd from its host port, after the denies and the
// user's route rules, in its family only; an unfound one opens nothing.
func TestForwardRules(t *testing.T) {
	rs, _ := ExpandForwards(mustRules(t, "deny from 198.51.100.7", "forward 2222/tcp to vm1:22 from 203.0.113.0/24", "forward 8080 to vm2"),
		nil, map[string][]netip.Addr{"vm1": {netip.MustParseAddr("10.0.3.5")}, "vm2": {netip.MustParseAddr("fd42::7")}})
	guests := func(f rules.Family) []string {
		return Filter(Input{Family: f, Rules: rs}).Chain(rules.ChainGuests).Rules
	}
	v4 := guests(rules.IPv4)
	accept := "-s 203.0.113.0/24 -d 10.0.3.5/32 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 2222 -m tcp --dport 22 -j ACCEPT"
	i := slices.Index(v4, accept)
	if i < 0 || i < slices.Index(v4, "-j ufw-user-forward") || i < slices.IndexFunc(v4, func(s string) bool { return strings.HasPrefix(s, "-s 198.51.100.7/32") }) {
		t.Errorf("IPv4 guests chain, want the accept after the deny and the route rules:\n%s", strings.Join(v4, "\n"))
	}
	if slices.ContainsFunc(v4, func(s string) bool { return strings.Contains(s, "fd42::7") }) {
		t.Errorf("IPv4 chain names an IPv6 guest:\n%s", strings.Join(v4, "\n"))
	}
	v6 := guests(rules.IPv6)
	for _, p := range []string{"tcp", "udp"} {
		want := "-d fd42::7/128 -p " + p + " -m conntrack --ctstate DNAT --ctorigdstport 8080 -m " + p + " --dport 8080 -j ACCEPT"
		if !slices.Contains(v6, want) {
			t.Errorf("IPv6 guests chain lacks %q:\n%s", want, strings.Join(v6, "\n"))
		}
	}
	unfound, _ := ExpandForwards(mustRules(t, "forward 2222/tcp to vm1:22"), nil, nil)
	if slices.ContainsFunc(Filter(Input{Family: rules.IPv4, Rules: unfound}).Chain(rules.ChainGuests).Rules,
		func(s string) bool { return strings.Contains(s, "ACCEPT") }) {
		t.Error("a forward whose guest was not found accepts something")
	}
}

func TestNATForwards(t *testing.T) {
	rs, _ := ExpandForwards(mustRules(t, "forward 2222/tcp to vm1:22 from 203.0.113.0/24", "forward 8080 to vm2"),
		nil, map[string][]netip.Addr{"vm1": {netip.MustParseAddr("10.0.3.5")}, "vm2": {netip.MustParseAddr("fd42::7")}})
	script, comment := NAT(nil, Forwards(rs))
	for _, want := range []string{
		"type nat hook prerouting priority dstnat + 10;",
		"meta nfproto ipv4 ip saddr 203.0.113.0/24 fib daddr type local meta l4proto tcp th dport 2222 dnat ip to 10.0.3.5:22",
		"meta nfproto ipv4 ip saddr 203.0.113.0/24 ip daddr != 127.0.0.0/8 fib daddr type local meta l4proto tcp th dport 2222 dnat ip to 10.0.3.5:22",
		"meta nfproto ipv6 fib daddr type local meta l4proto { tcp, udp } th dport 8080 dnat ip6 to [fd42::7]:8080",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("NAT script lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "postrouting") || comment == "" {
		t.Errorf("forwards alone: want no masquerade chain and a comment:\n%s", script)
	}
	if moved, c2 := NAT(nil, Forwards(mustExpand(t, "forward 8080 to vm2", "fd42::8"))); moved == script || c2 == comment {
		t.Error("a guest's new address gives the same NAT table: the watcher would not move the forward")
	}
}

func mustExpand(t *testing.T, line, addr string) rules.Ruleset {
	t.Helper()
	rs, _ := ExpandForwards(mustRules(t, line), nil, map[string][]netip.Addr{"vm2": {netip.MustParseAddr(addr)}})
	return rs
}

func TestForwardExposure(t *testing.T) {
	rs, labels := ExpandForwards(mustRules(t, "deny 2222 from 198.51.100.0/24", "forward 2222/tcp to vm1:22", "forward 2223/tcp to vm1:80 from 203.0.113.67"),
		[]string{"1: deny", "2: fwd", "3: fwd"}, map[string][]netip.Addr{"vm1": {netip.MustParseAddr("10.0.3.5")}})
	for i, want := range map[int]string{1: "everyone except 198.51.100.0/24 [1: deny; 2: fwd]", 2: "203.0.113.67 [3: fwd]"} {
		who, by := ForwardExposure(rs, labels, i, "tcp")
		if got := who + " [" + strings.Join(by, "; ") + "]"; got != want {
			t.Errorf("forward %d: %q, want %q", i, got, want)
		}
	}
}
