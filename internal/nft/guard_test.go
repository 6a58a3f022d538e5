package nft

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// fakeNFT is a fake of nft over the tables' comments: `nft -f -` scripts
// that make a table with a comment, or delete it, change it; `nft -s -t
// list table` shows it (the comment, and the script that made it as its
// body), or fails as nft does for a missing table. Every script is kept, in
// order. edits, by table, is a hand edit the listing shows.
type fakeNFT struct {
	mu       sync.Mutex
	comments map[string]string
	bodies   map[string]string
	edits    map[string]string
	scripts  []string
	fail     error
	// others are other tools' tables, "FAMILY NAME" -> `nft list table`,
	// each with one postrouting nat chain.
	others map[string]string
}

var (
	tableLine   = regexp.MustCompile(`(?m)^table inet (\S+) \{`)
	commentLine = regexp.MustCompile(`(?m)^\s*comment "([^"]*)"`)
	deleteLine  = regexp.MustCompile(`(?m)^delete table inet (\S+)`)
)

func (n *fakeNFT) Run(_ context.Context, name string, args []string, stdin []byte) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.comments == nil {
		n.comments, n.bodies, n.edits = map[string]string{}, map[string]string{}, map[string]string{}
	}
	switch strings.Join(append([]string{name}, args...), " ") {
	case "nft -f -":
		if n.fail != nil {
			return nil, n.fail
		}
		script := string(stdin)
		n.scripts = append(n.scripts, script)
		for _, m := range deleteLine.FindAllStringSubmatch(script, -1) {
			delete(n.comments, m[1])
			delete(n.edits, m[1])
		}
		if t, c := tableLine.FindStringSubmatch(script), commentLine.FindStringSubmatch(script); t != nil && c != nil {
			n.comments[t[1]], n.bodies[t[1]] = c[1], script
			delete(n.edits, t[1])
		}
		return nil, nil
	case "nft list ruleset":
		return nil, nil
	case "nft list chains":
		var b strings.Builder
		for t := range n.others {
			b.WriteString("table " + t + " {\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t}\n}\n")
		}
		return []byte(b.String()), nil
	}
	if t, ok := strings.CutPrefix(strings.Join(args, " "), "list table "); ok && n.others[t] != "" {
		return []byte(n.others[t]), nil
	}
	if t, ok := strings.CutPrefix(strings.Join(args, " "), "-s -t list table inet "); ok {
		c, ok := n.comments[t]
		if !ok {
			return nil, errors.New("nft: Error: No such file or directory")
		}
		return []byte("table inet " + t + " {\n\tcomment \"" + c + "\"\n" + n.bodies[t] + n.edits[t] + "}\n"), nil
	}
	return nil, errors.New("fakeNFT: unexpected " + name + " " + strings.Join(args, " "))
}

// nat is a Saver whose nat table holds Docker's DOCKER chain and
// POSTROUTING with rules (IPv4; IPv6 is empty).
type nat struct{ docker, postrouting []string }

func (s nat) Save(_ context.Context, f rules.Family, _ string) (*rules.Table, error) {
	t := &rules.Table{Name: "nat"}
	if f != rules.IPv4 {
		return t, nil
	}
	if s.docker != nil {
		t.Chains = append(t.Chains, &rules.Chain{Name: "DOCKER", Policy: "-", Rules: s.docker})
	}
	t.Chains = append(t.Chains, &rules.Chain{Name: "POSTROUTING", Policy: "ACCEPT", Rules: s.postrouting})
	return t, nil
}

// The guard is written when it is missing, another version, or edited by
// hand under our comment, and left alone when the live table is the version
// asked for as we wrote it.
func TestGuardEnsureWritesOnlyWhatChanged(t *testing.T) {
	n := &fakeNFT{}
	g := Guard{Runner: n, Sums: Sums{Dir: t.TempDir()}}
	ctx := context.Background()
	for _, c := range []struct {
		docker []string
		want   bool
	}{{nil, true}, {nil, false}, {[]string{"mailnet"}, true}, {[]string{"mailnet"}, false}} {
		changed, err := g.Ensure(ctx, rules.Bridges{}, c.docker)
		if err != nil || changed != c.want {
			t.Errorf("Ensure(docker %v) = %v, %v; want %v", c.docker, changed, err, c.want)
		}
	}
	if len(n.scripts) != 2 || !strings.Contains(n.scripts[1], `"mailnet"`) {
		t.Errorf("scripts written: %d, the second for mailnet: %q", len(n.scripts), n.scripts)
	}
	// `nft flush chain inet ufw-docker-bridge check` keeps the comment.
	n.edits[rules.GuardTable] = "\tchain check {\n\t}\n"
	if changed, err := g.Ensure(ctx, rules.Bridges{}, []string{"mailnet"}); err != nil || !changed || len(n.scripts) != 3 {
		t.Errorf("a hand edit under our comment: changed %v, %v, %d scripts; want it written again", changed, err, len(n.scripts))
	}
	// Without a record (a new /run, an older version's table) it is
	// written once, then left alone.
	os.Remove(filepath.Join(g.Sums.Dir, rules.GuardTable+".sha256"))
	for i, want := range []bool{true, false} {
		if changed, err := g.Ensure(ctx, rules.Bridges{}, []string{"mailnet"}); err != nil || changed != want {
			t.Errorf("no record, Ensure %d: changed %v, %v; want %v", i+1, changed, err, want)
		}
	}
	if err := g.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, err := g.Current(ctx); err != nil || cur != "" {
		t.Errorf("after Remove: %q, %v", cur, err)
	}
	if _, err := os.Stat(filepath.Join(g.Sums.Dir, rules.GuardTable+".sha256")); err == nil {
		t.Error("the removed table's record is still there")
	}
}

// The sets of published ports follow Docker's DNAT rules, are written only
// when they change, and while Docker's chain is gone a new guard gets the
// ports last seen.
func TestGuardPublishedFollowsDocker(t *testing.T) {
	n := &fakeNFT{}
	docker := nat{docker: []string{"! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80"}}
	g := Guard{Runner: n, Tables: docker, Last: &Elements{}}
	ctx := context.Background()
	if err := g.Published(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := g.Published(ctx, false); err != nil {
		t.Fatal(err)
	}
	if len(n.scripts) != 1 || !strings.Contains(n.scripts[0], "tcp . 8080") {
		t.Fatalf("want one sets script with tcp . 8080, got %q", n.scripts)
	}
	gone := Guard{Runner: n, Tables: nat{}, Last: g.Last}
	if err := gone.Published(ctx, false); err != nil || len(n.scripts) != 1 {
		t.Errorf("Docker's chain gone: %v, %d scripts (the sets must keep what they hold)", err, len(n.scripts))
	}
	if err := gone.Published(ctx, true); err != nil || len(n.scripts) != 2 || n.scripts[1] != n.scripts[0] {
		t.Errorf("a fresh guard while Docker's chain is gone: %v, %q (want the last ports again)", err, n.scripts)
	}
	n.fail = errors.New("nft: exit 1")
	fresh := Guard{Runner: n, Tables: docker, Last: &Elements{}}
	if err := fresh.Published(ctx, true); err == nil || !strings.Contains(err.Error(), "applying table inet "+rules.GuardTable) {
		t.Errorf("a failing nft: %v", err)
	}
}

// keysWriter records the keys a Guard writes over netlink.
type keysWriter struct{ writes [][]plan.GuardKey }

func (w *keysWriter) Published(keys []plan.GuardKey) error {
	w.writes = append(w.writes, keys)
	return nil
}

// With a netlink writer, the sets of published ports never go through nft
// (which reads every element of every interval set to add one), and follow
// Docker as the script does.
func TestGuardPublishedOverNetlink(t *testing.T) {
	n, w := &fakeNFT{}, &keysWriter{}
	docker := nat{docker: []string{"! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80"}}
	g := Guard{Runner: n, Tables: docker, Last: &Elements{}, Writer: w}
	ctx := context.Background()
	for _, fresh := range []bool{true, false} {
		if err := g.Published(ctx, fresh); err != nil {
			t.Fatal(err)
		}
	}
	gone := Guard{Runner: n, Tables: nat{}, Last: g.Last, Writer: w}
	if err := gone.Published(ctx, true); err != nil {
		t.Fatal(err)
	}
	want := plan.GuardKey{Proto: "tcp", First: 8080, Last: 8080}
	if len(n.scripts) != 0 || len(w.writes) != 2 || len(w.writes[1]) != 1 || w.writes[1][0] != want {
		t.Errorf("nft scripts %q, netlink writes %v: want two writes of %v (the second for a fresh guard while Docker's chain is gone)", n.scripts, w.writes, want)
	}
}

// Our NAT table masquerades a guest subnet that nothing else masquerades,
// is left alone while that holds, and goes once another rule does it.
func TestNATFollowsWhoMasquerades(t *testing.T) {
	n := &fakeNFT{}
	bridges := func() ([]discover.Bridge, error) {
		return []discover.Bridge{{Name: "virbr0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.122.1/24")}}, {Name: "docker0", Addrs: []netip.Prefix{netip.MustParsePrefix("172.17.0.1/16")}}}, nil
	}
	ctx := context.Background()
	defaults := rules.Ruleset(nil).Bridges() // virbr+ is a guest bridge, NAT on
	sums := Sums{Dir: t.TempDir()}
	mine := NAT{Runner: n, Tables: nat{}, Bridges: bridges, Sums: sums}
	said, err := mine.Ensure(ctx, defaults, nil)
	if err != nil || len(said) != 1 || !strings.Contains(said[0], "192.168.122.0/24") || strings.Contains(said[0], "172.17") {
		t.Fatalf("first Ensure: %q, %v", said, err)
	}
	if said, err := mine.Ensure(ctx, defaults, nil); err != nil || said != nil || len(n.scripts) != 1 {
		t.Errorf("second Ensure: %q, %v, %d scripts", said, err, len(n.scripts))
	}
	n.edits[rules.NATTable] = "\tchain postrouting {\n\t}\n"
	if said, err := mine.Ensure(ctx, defaults, nil); err != nil || len(said) != 1 || len(n.scripts) != 2 {
		t.Errorf("a flushed chain under our comment: %q, %v, %d scripts", said, err, len(n.scripts))
	}
	libvirt := NAT{Runner: n, Tables: nat{postrouting: []string{"-s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE"}}, Bridges: bridges, Sums: sums}
	said, err = libvirt.Ensure(ctx, defaults, nil)
	if err != nil || len(said) != 1 || !strings.Contains(said[0], "removed") {
		t.Errorf("with libvirt's masquerade: %q, %v", said, err)
	}
	if _, ok := n.comments[rules.NATTable]; ok {
		t.Error("our NAT table is still there")
	}
	// The same subnet masqueraded by another tool's nftables table (libvirt's
	// nftables backend): read through `nft list chains`, never `nft list
	// ruleset`, and nothing of ours is made.
	n.others = map[string]string{"ip libvirt_network": "table ip libvirt_network {\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n" +
		"\t\tip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 masquerade\n\t}\n}\n"}
	if said, err := mine.Ensure(ctx, defaults, nil); err != nil || strings.Contains(strings.Join(said, " "), "masquerading") {
		t.Errorf("with libvirt's nftables masquerade: %q, %v", said, err)
	}
	if _, ok := n.comments[rules.NATTable]; ok {
		t.Error("our NAT table was made beside libvirt's nftables masquerade")
	}
}

func TestPostroutingTables(t *testing.T) {
	// nft 1.0.6's `nft list chains`, shortened.
	chains := "table inet ufw-docker-bridge-sets {\n\tchain forward {\n\t\ttype filter hook forward priority filter - 5; policy accept;\n\t}\n}\n" +
		"table ip nat {\n\tchain POSTROUTING {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t}\n\tchain DOCKER {\n\t}\n}\n" +
		"table inet ufw-docker-bridge-nat {\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat + 10; policy accept;\n\t}\n}\n"
	if got := postroutingTables(chains); strings.Join(got, ",") != "ip nat,inet ufw-docker-bridge-nat" {
		t.Errorf("postroutingTables = %q", got)
	}
}

func TestGuardDrops(t *testing.T) {
	// nft 1.0.6's listing of the guard (two chains with a counted drop).
	text := "table inet ufw-docker-bridge {\n\tchain check {\n\t\tmeta mark & 0x01000000 == 0x01000000 accept\n" +
		"\t\tlimit rate 3/minute burst 5 packets log prefix \"[UFW-DOCKER-BRIDGE GUARD] \"\n\t\tcounter packets 12 bytes 720 drop\n\t}\n" +
		"\tchain check-input {\n\t\tcounter packets 3 bytes 180 drop\n\t}\n}\n"
	got := GuardDrops(text)
	if len(got) != 2 || got["check"] != 12 || got["check-input"] != 3 {
		t.Errorf("GuardDrops = %v, want check 12, check-input 3", got)
	}
}

// Read lists every table but our sets table (nft would read its elements
// first), and finds another tool's masquerade there.
func TestNATReadLeavesOurSetsOut(t *testing.T) {
	n := &fakeNFT{others: map[string]string{"ip libvirt_network": "table ip libvirt_network {\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n" +
		"\t\tip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 masquerade\n\t}\n}\n"}}
	all := func() ([]string, error) { return []string{"inet " + rules.SetsTable, "ip libvirt_network"}, nil }
	masq, ruleset, err := NAT{Runner: n, Tables: nat{}, All: all}.Read(context.Background())
	if err != nil || len(masq) != 1 || masq[0].String() != "192.168.122.0/24" || !strings.Contains(ruleset, "table ip libvirt_network") {
		t.Errorf("Read = %v, %v; ruleset:\n%s", masq, err, ruleset)
	}
}
