package plan

import (
	"os"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Other tools' rules in DOCKER-USER (fail2ban's jump, CrowdSec's set, an
// admin's DROP) stay where they are, in order, through a repair of our
// chains and through our removal; our jump is there once.
func TestDockerUserNeighboursKept(t *testing.T) {
	in := Input{Family: rules.IPv4, Rules: mustRules(t, "allow 443")}
	live := liveWith(t, rules.IPv4, "-j DOCKER-USER")
	theirs := []string{"-j f2b-nginx", "-m set --match-set crowdsec-blacklists-0 src -j DROP"}
	user := live.Chain(rules.ChainDockerUser)
	user.Rules = append(append(append([]string{}, theirs...), user.Rules...), "-s 203.0.113.0/24 -j DROP")
	live.Chains = append(live.Chains, &rules.Chain{Name: "f2b-nginx", Policy: "-", Rules: []string{"-s 198.51.100.7/32 -j REJECT", "-j RETURN"}})
	before := strings.Join(user.Rules, "|")

	live.Chain(rules.ChainForward).Rules = nil // a clobber of ours
	drift, input := Repair(in, live)
	if len(drift) == 0 || strings.Contains(input, ":"+rules.ChainDockerUser) || strings.Contains(input, "-D "+rules.ChainDockerUser) {
		t.Errorf("drift %v; the repair touches DOCKER-USER:\n%s", drift, input)
	}
	applyTo(t, live, input)
	if got := strings.Join(live.Chain(rules.ChainDockerUser).Rules, "|"); got != before {
		t.Errorf("DOCKER-USER after the repair:\n%s\nwant\n%s", got, before)
	}
	// A second jump of ours goes, the first stays where it is.
	user = live.Chain(rules.ChainDockerUser)
	user.Rules = append(user.Rules, "-j "+rules.ChainUser)
	drift, input = Repair(in, live)
	if len(drift) != 1 || !strings.Contains(drift[0], "2 times") {
		t.Errorf("drift %v", drift)
	}
	applyTo(t, live, input)
	if got := strings.Join(live.Chain(rules.ChainDockerUser).Rules, "|"); got != before {
		t.Errorf("DOCKER-USER after a second jump was taken out:\n%s\nwant\n%s", got, before)
	}
	// Docker restarted: DOCKER-USER is back to its RETURN and their rules
	// (fail2ban's inserted again by its own check): ours goes first.
	live.Chain(rules.ChainDockerUser).Rules = append(append([]string{}, theirs...), "-j RETURN")
	_, input = Repair(in, live)
	applyTo(t, live, input)
	if got := strings.Join(live.Chain(rules.ChainDockerUser).Rules, "|"); got != "-j "+rules.ChainUser+"|"+strings.Join(theirs, "|")+"|-j RETURN" {
		t.Errorf("DOCKER-USER after our jump was put back: %s", got)
	}
	// Removal leaves theirs and Docker's.
	applyTo(t, live, Removal(live, rules.IPv4))
	if got := strings.Join(live.Chain(rules.ChainDockerUser).Rules, "|"); got != strings.Join(theirs, "|")+"|-j RETURN" {
		t.Errorf("DOCKER-USER after removal: %s", got)
	}
	if live.Chain(rules.ChainUser) != nil || live.Chain("f2b-nginx") == nil {
		t.Errorf("after removal:\n%s", live)
	}
}

// A host that ran the first version has our whole policy in DOCKER-USER
// (recorded from a lab: Docker 20.10 and UFW). The repair moves it into our
// chain and leaves a rule fail2ban inserted since where it was; Docker's
// RETURN stays last.
func TestDockerUserMigratesTheFirstVersion(t *testing.T) {
	data, err := os.ReadFile("testdata/docker20-ufw-installed-v1.iptables-save")
	if err != nil {
		t.Fatal(err)
	}
	d, err := rules.ParseSave(string(data))
	if err != nil {
		t.Fatal(err)
	}
	live := d.Table("filter")
	live.Chain(rules.ChainDockerUser).Rules = append([]string{"-s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable"}, live.Chain(rules.ChainDockerUser).Rules...)
	in := Input{Family: rules.IPv4, Rules: mustRules(t, "allow 8080", "deny from 203.0.113.66")}
	drift, input := Repair(in, live)
	if !strings.Contains(strings.Join(drift, "\n"), "rules of an earlier ufw-docker-bridge") {
		t.Errorf("drift %v", drift)
	}
	applyTo(t, live, input)
	want := "-j " + rules.ChainUser + "|-s 198.51.100.7/32 -j REJECT --reject-with icmp-port-unreachable|-j RETURN"
	if got := strings.Join(live.Chain(rules.ChainDockerUser).Rules, "|"); got != want {
		t.Errorf("DOCKER-USER after the migration:\n%s\nwant\n%s", got, want)
	}
	if d, again := Repair(in, live); d != nil || again != "" {
		t.Errorf("after the migration: drift %v", d)
	}
}

// Rules that name sets: a deny is the sets table's (no iptables line), an
// allow is an iptables line that asks for the sets table's mark, and while
// any rule names a set our chains drop what the sets table did not see.
func TestSetRulesRender(t *testing.T) {
	rs := mustRules(t, "deny from @f2b-sshd --host-too", "allow 443/tcp from @office", "deny 25 from @spamhaus", "allow 8080", "bridge br-lan exclude")
	f := Filter(Input{Family: rules.IPv4, Rules: rs, Firewall: IPTables})
	fwd := strings.Join(f.Chain(rules.ChainForward).Rules, "\n")
	for _, want := range []string{
		"-m mark ! --mark 0x2000000/0x2000000 -j DROP",
		"-p tcp -m conntrack --ctstate DNAT ! --ctorigdst 127.0.0.0/8 --ctorigdstport 443 -m mark --mark 0x4000000/0x4000000 -j RETURN",
	} {
		if !strings.Contains(fwd, want) {
			t.Errorf("forward chain lacks %q:\n%s", want, fwd)
		}
	}
	if strings.Contains(f.String(), "f2b-sshd") || strings.Contains(f.String(), "spamhaus") || strings.Contains(strings.Join(f.Chain(rules.ChainInput).Rules, "\n"), "DROP") {
		t.Errorf("a set's name or its deny in iptables:\n%s", f)
	}
	if !strings.HasPrefix(strings.Join(f.Chain(rules.ChainGuests).Rules, "\n"), "-m mark ! --mark 0x2000000/0x2000000 -j DROP") {
		t.Errorf("guests chain:\n%s", strings.Join(f.Chain(rules.ChainGuests).Rules, "\n"))
	}
	if plain := Filter(Input{Family: rules.IPv4, Rules: mustRules(t, "allow 8080")}); strings.Contains(plain.String(), "--mark 0x2000000") {
		t.Errorf("no set, yet the sets table's mark is asked for:\n%s", plain)
	}
	script, comment := SetsTable(rs, []string{"f2b-sshd", "office", "spamhaus"}, []string{"docker0", "mailnet"}, []string{"office-v4", "office-v6", "old-v4", "old-v6"}, true)
	if !strings.Contains(script, `comment "`+comment+`"`) || !strings.HasPrefix(comment, rules.SetsCommentPrefix) {
		t.Errorf("comment %q not in the script", comment)
	}
	golden(t, "sets", script)
	// Its listing, which says whether the table was edited by hand, holds
	// each rule's attributes: a counter's values would change it with
	// every packet.
	for _, stateful := range []string{"counter", "limit", "quota"} {
		if strings.Contains(script, stateful) {
			t.Errorf("the sets table holds a %s: its listing would differ at every look", stateful)
		}
	}
	// The comment follows the rules and the bridges, not the sets the
	// table holds that go.
	same, sameComment := SetsTable(rs, []string{"f2b-sshd", "office", "spamhaus"}, []string{"docker0", "mailnet"}, nil, false)
	_, other := SetsTable(rs[:2], []string{"f2b-sshd", "office", "spamhaus"}, []string{"docker0", "mailnet"}, nil, true)
	if strings.Contains(same, "add table") {
		t.Errorf("a script for a table that is there makes one:\n%s", same)
	}
	if sameComment != comment || other == comment {
		t.Errorf("comments %q %q %q", comment, sameComment, other)
	}
}

// At boot UFW's drop-in syncs before Docker starts: DOCKER-USER is made
// with our jump and nothing else (no FORWARD jump: Docker writes its own).
// Docker then keeps the chain, hooks it in and appends its RETURN: nothing
// is left to repair, and our jump decides first.
func TestDockerUserMadeBeforeDocker(t *testing.T) {
	in := Input{Family: rules.IPv4, Rules: mustRules(t, "allow 443")}
	live := &rules.Table{Name: "filter", Chains: []*rules.Chain{
		{Name: "FORWARD", Policy: "DROP", Rules: []string{"-j ufw-before-forward"}},
		{Name: "ufw-before-forward", Policy: "-"},
		{Name: rules.ChainUFWUserForward, Policy: "-"},
	}}
	_, input := Repair(in, live)
	applyTo(t, live, input)
	if u := live.Chain(rules.ChainDockerUser); u == nil || strings.Join(u.Rules, "|") != "-j "+rules.ChainUser ||
		rules.JumpPosition(live, "FORWARD", rules.ChainDockerUser) != 0 {
		t.Fatalf("before Docker:\n%s", live)
	}
	// Docker starts.
	live.Chains = append(live.Chains, &rules.Chain{Name: "DOCKER", Policy: "-"})
	live.Chain("FORWARD").Rules = append([]string{"-j DOCKER-USER"}, live.Chain("FORWARD").Rules...)
	live.Chain(rules.ChainDockerUser).Rules = append(live.Chain(rules.ChainDockerUser).Rules, "-j RETURN")
	if d, again := Repair(in, live); d != nil || again != "" {
		t.Errorf("after Docker started: drift %v\n%s", d, again)
	}
}
