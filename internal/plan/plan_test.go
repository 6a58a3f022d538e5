package plan

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func mustRules(t *testing.T, lines ...string) rules.Ruleset {
	t.Helper()
	rs, err := rules.ParseLines(lines...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// story is the rule set of the UFW core issue's story.
var story = []string{
	"allow 8080", "allow 9443", "allow 3306/tcp from 192.168.77.0/24", "allow 5000:5010/udp",
	"deny from 203.0.113.7", "allow 443 from 2001:db8::/32", "deny 22/tcp from 2001:db8:bad::/48",
}

// Golden files are named by their parameters.
func TestFilterGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []string
		in    Input
	}{
		{"rules=none,family=ipv4,declare=false", nil, Input{Family: rules.IPv4}},
		{"rules=story,family=ipv4,declare=false", story, Input{Family: rules.IPv4}},
		{"rules=story,family=ipv6,declare=false", story, Input{Family: rules.IPv6}},
		{"rules=story,family=ipv4,declare=true", story, Input{Family: rules.IPv4, DeclareUFWForward: true}},
		{"rules=bridges,family=ipv6,declare=false", bridgeRules, Input{Family: rules.IPv6}},
		{"rules=story,family=ipv4,declare=false,docker=nftables", story, Input{Family: rules.IPv4, DockerNFT: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Rules = mustRules(t, tc.rules...)
			golden(t, tc.name+"__restore", Filter(tc.in).String())
		})
	}
}

func TestBlockGolden(t *testing.T) {
	for _, f := range rules.Families {
		golden(t, "block,family="+f.String(), Block(File(f, mustRules(t, story...), UFW, false, nil), f, "/etc/ufw-docker-bridge/rules"))
	}
	live := File(rules.IPv4, nil, UFW, false, nil)
	live.Chain(rules.ChainUFWBeforeInput).Rules = []string{"-j ufw-user-input", InputJump}
	golden(t, "removal", Removal(live, rules.IPv4))
	if got := Removal(&rules.Table{Name: "filter"}, rules.IPv4); got != "" {
		t.Errorf("removal with nothing of ours live: %q", got)
	}
}

// The blocks of the other profiles, their removal and the snapshot a
// change rolls back to: what firewalld and plain iptables hosts load.
func TestProfileGolden(t *testing.T) {
	for _, fw := range []Firewall{FirewallD, IPTables} {
		for _, f := range rules.Families {
			golden(t, "block,profile="+fw.String()+",family="+f.String(),
				Block(File(f, mustRules(t, story...), fw, false, nil), f, "/etc/ufw-docker-bridge/rules"))
		}
		live := Filter(Input{Family: rules.IPv4, Rules: mustRules(t, story...), Firewall: fw})
		live.Chains = append(live.Chains,
			&rules.Chain{Name: rules.ChainForwardBuiltin, Policy: "DROP", Rules: []string{"-j " + rules.ChainDockerUser}},
			&rules.Chain{Name: rules.ChainInputBuiltin, Policy: "DROP", Rules: []string{"-j " + rules.ChainInput}})
		golden(t, "removal,profile="+fw.String(), Removal(live, rules.IPv4))
		golden(t, "snapshot,profile="+fw.String(), Snapshot(live, rules.IPv4))
	}
}

// bridgeRules include a hand-made bridge, exclude one libvirt network and
// keep NAT off for one LXD bridge.
var bridgeRules = []string{"allow 8080", "bridge br-vms include", "bridge virbr7 exclude", "bridge lxdbr1 nat-off", "deny from 2001:db8:bad::/48"}

func TestBridgeOrder(t *testing.T) {
	user := Filter(Input{Family: rules.IPv4, Rules: mustRules(t, bridgeRules...)}).Chain(rules.ChainUser).Rules
	pos := func(rule string) int {
		for i, r := range user {
			if r == rule {
				return i
			}
		}
		t.Fatalf("no rule %q in DOCKER-USER:\n%s", rule, strings.Join(user, "\n"))
		return -1
	}
	// An excluded bridge is left to its owner before any guest rule matches it.
	if pos("-o virbr7 -j RETURN") > pos("-o virbr+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT") {
		t.Error("an exclusion comes after the guest rules it must override")
	}
	// NEW into a guest is checked before containers' egress returns to
	// Docker (which would accept container -> VM), and guest egress comes
	// after the NEW-into checks of every bridge (VM -> container, VM -> VM).
	into := pos("-o br-vms -j " + rules.ChainGuests)
	if into > pos("-i docker0 -j RETURN") || pos("-i virbr+ -j ACCEPT") < pos("-o br-+ -j "+rules.ChainForward) || pos("-i br-vms -j ACCEPT") < into {
		t.Errorf("guest rules out of order:\n%s", strings.Join(user, "\n"))
	}
	// Guest egress passes the user's ufw route rules first.
	if pos("-i lxdbr+ -j "+rules.ChainUFWUserForward) > pos("-i lxdbr+ -j ACCEPT") {
		t.Error("guest egress is accepted before the ufw route rules")
	}
}

func TestFilterOrder(t *testing.T) {
	tb := Filter(Input{Family: rules.IPv4, Rules: mustRules(t, "allow 80", "deny from 10.0.0.1")})
	fwd := tb.Chain(rules.ChainForward).Rules
	deny, delegate, allow := -1, -1, -1
	for i, r := range fwd {
		switch {
		case strings.HasSuffix(r, "-j DROP") && strings.HasPrefix(r, "-s 10.0.0.1/32"):
			deny = i
		case r == "-j "+rules.ChainUFWUserForward:
			delegate = i
		case strings.Contains(r, "--ctorigdstport 80 -j RETURN"):
			allow = i
		}
	}
	if !(deny >= 0 && deny < delegate && delegate < allow) || fwd[len(fwd)-1] != "-j DROP" {
		t.Errorf("want deny < ufw delegation < allow < final DROP, got:\n%s", strings.Join(fwd, "\n"))
	}
	for _, r := range tb.Chain(rules.ChainUser).Rules {
		if r == "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN" {
			break
		}
		if !strings.Contains(r, "--ctstate RELATED,ESTABLISHED -j ACCEPT") {
			t.Errorf("DOCKER-USER must start with established traffic, not %q", r)
		}
	}
}

func TestSnapshot(t *testing.T) {
	live := &rules.Table{Name: "filter", Chains: []*rules.Chain{
		{Name: rules.ChainDockerUser, Policy: "-", Rules: []string{"-j RETURN"}},
		{Name: rules.ChainUFWUserForward, Policy: "-", Rules: []string{"-p tcp --dport 80 -j ACCEPT"}},
	}}
	got := Snapshot(live, rules.IPv4)
	want := "*filter\n:DOCKER-USER - [0:0]\n:ufw-docker-bridge-user - [0:0]\n:ufw-docker-bridge-forward - [0:0]\n:ufw-docker-bridge-guests - [0:0]\n:ufw-docker-bridge-input - [0:0]\n" +
		"-A DOCKER-USER -j RETURN\n-X ufw-docker-bridge-user\n-X ufw-docker-bridge-forward\n-X ufw-docker-bridge-guests\n-X ufw-docker-bridge-input\nCOMMIT\n"
	if got != want {
		t.Errorf("Snapshot:\n%s\nwant:\n%s", got, want)
	}
}
