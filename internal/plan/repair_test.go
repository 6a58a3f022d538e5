package plan

import (
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func liveWith(t *testing.T, f rules.Family, forward ...string) *rules.Table {
	t.Helper()
	want := Filter(Input{Family: f})
	live := &rules.Table{Name: "filter", Chains: append([]*rules.Chain{
		{Name: "FORWARD", Policy: "DROP", Rules: forward},
		{Name: "DOCKER", Policy: "-"},
		{Name: rules.ChainDockerUser, Policy: "-", Rules: []string{"-j " + rules.ChainUser, "-j RETURN"}},
		{Name: f.UFWUserForward(), Policy: "-"},
	}, want.Chains...)}
	return live
}

// applyTo applies a restore --noflush input to a live model: declared chains
// are flushed, then the input's rules and edits apply in order.
func applyTo(t *testing.T, live *rules.Table, input string) {
	t.Helper()
	after, err := rules.Apply(live, input)
	if err != nil {
		t.Fatalf("repair input does not apply: %v\n%s", err, input)
	}
	*live = *after
}

func TestRepairNothingWhenInSync(t *testing.T) {
	drift, input := Repair(Input{Family: rules.IPv4}, liveWith(t, rules.IPv4, "-j DOCKER-USER", "-j DOCKER-ISOLATION-STAGE-1"))
	if drift != nil || input != "" {
		t.Errorf("in sync, yet drift %v input %q", drift, input)
	}
}

func TestRepairMovesTheJumpFirst(t *testing.T) {
	drift, input := Repair(Input{Family: rules.IPv4}, liveWith(t, rules.IPv4, "-j DOCKER-ISOLATION-STAGE-1", "-j DOCKER-USER"))
	if len(drift) != 1 || !strings.Contains(drift[0], "rule 2, not first") {
		t.Errorf("drift %v", drift)
	}
	if !strings.HasSuffix(input, "-D FORWARD -j DOCKER-USER\n-I FORWARD 1 -j DOCKER-USER\nCOMMIT\n") {
		t.Errorf("input:\n%s", input)
	}
	if strings.Contains(input, ":ufw-user-forward") {
		t.Error("the repair declared UFW's existing route chain: it would flush the user's ufw route rules")
	}
	// Applied to the live model, the input leaves nothing to repair.
	after := liveWith(t, rules.IPv4, "-j DOCKER-ISOLATION-STAGE-1", "-j DOCKER-USER")
	applyTo(t, after, input)
	if d, again := Repair(Input{Family: rules.IPv4}, after); d != nil || again != "" {
		t.Errorf("after the repair: drift %v", d)
	}
}

func TestRepairRestoresFlushedChainsAndMissingJump(t *testing.T) {
	live := liveWith(t, rules.IPv4)
	live.Chain(rules.ChainDockerUser).Rules = []string{"-j RETURN"}
	drift, input := Repair(Input{Family: rules.IPv4}, live)
	if len(drift) < 2 || !strings.Contains(strings.Join(drift, "\n"), "FORWARD does not jump to DOCKER-USER") {
		t.Errorf("drift %v", drift)
	}
	if strings.Contains(input, "-D FORWARD") || !strings.Contains(input, "-I FORWARD 1 -j DOCKER-USER") {
		t.Errorf("input:\n%s", input)
	}
	// The chains are there, so they are edited in place, not flushed.
	if strings.Contains(input, "\n:") || !strings.Contains(input, "-I DOCKER-USER 1 ") {
		t.Errorf("want an in-place edit, got:\n%s", input)
	}
	applyTo(t, live, input)
	if d, again := Repair(Input{Family: rules.IPv4}, live); d != nil || again != "" {
		t.Errorf("after the repair: drift %v\n%s", d, again)
	}
	// Our chain deleted: only a restore that declares it can repair that.
	live.Chains = live.Chains[:len(live.Chains)-1]
	live.Chain(rules.ChainDockerUser).Rules = []string{"-j RETURN"}
	if _, input := Repair(Input{Family: rules.IPv4}, live); !strings.Contains(input, ":"+rules.ChainForward+" - ") {
		t.Errorf("our chain missing, want it declared:\n%s", input)
	}
}

func TestRepairLeavesFORWARDAloneWithoutDocker(t *testing.T) {
	live := liveWith(t, rules.IPv6)
	live.Chains = append(live.Chains[:1], live.Chains[2:]...) // no DOCKER chain: Docker does not manage ipv6
	live.Chain(rules.ChainForward).Rules = nil
	_, input := Repair(Input{Family: rules.IPv6}, live)
	if input == "" || strings.Contains(input, "FORWARD") {
		t.Errorf("input:\n%s", input)
	}
}

func TestGuardGolden(t *testing.T) {
	script, comment := Guard(rules.Ruleset(nil).Bridges(), nil)
	if !strings.Contains(script, `comment "`+comment+`"`) || !strings.HasPrefix(comment, rules.GuardCommentPrefix) {
		t.Errorf("comment %q not in the script", comment)
	}
	golden(t, "guard", script)
	// An excluded br-lan and an included br-vms (a container pattern
	// matches both) are let alone before the patterns, br-vms's NEW
	// connections into container bridges excepted; Docker's mailnet is
	// covered like docker0.
	br := mustRules(t, "bridge br-lan exclude", "bridge br-vms include").Bridges()
	named, namedComment := Guard(br, []string{"docker0", "mailnet"})
	if namedComment == comment {
		t.Error("the guard's comment does not change with its bridges")
	}
	golden(t, "guard,exclude=br-lan,include=br-vms,docker=mailnet", named)
	golden(t, "guard-removal", GuardRemoval())
}

func TestInputJump(t *testing.T) {
	chain := func(rs ...string) *rules.Table {
		return &rules.Table{Name: "filter", Chains: []*rules.Chain{userHook(), {Name: rules.ChainUFWBeforeInput, Policy: "-", Rules: rs}}}
	}
	for _, tc := range []struct {
		name  string
		live  *rules.Table
		lines string
	}{
		{"missing", chain("-i lo -j ACCEPT", "-j ufw-user-input"), "-I ufw-before-input 2 -j ufw-docker-bridge-input"},
		{"after the user rules (an old apply)", chain("-i lo -j ACCEPT", "-j ufw-user-input", InputJump),
			"-D ufw-before-input -j ufw-docker-bridge-input|-I ufw-before-input 2 -j ufw-docker-bridge-input"},
		{"twice", chain(InputJump, InputJump, "-j ufw-user-input"),
			"-D ufw-before-input -j ufw-docker-bridge-input|-D ufw-before-input -j ufw-docker-bridge-input|-I ufw-before-input 1 -j ufw-docker-bridge-input"},
		{"where UFW's load puts it", chain("-i lo -j ACCEPT", InputJump, "-j ufw-user-input"), ""},
		{"no user chain hooked yet", chain("-i lo -j ACCEPT"), "-A ufw-before-input -j ufw-docker-bridge-input"},
		{"UFW not loaded", &rules.Table{Name: "filter", Chains: []*rules.Chain{userHook()}}, ""},
	} {
		drift, lines := Jumps(Input{Family: rules.IPv4}, tc.live, false)
		if got := strings.Join(lines, "|"); got != tc.lines || (len(drift) > 0) != (tc.lines != "") {
			t.Errorf("%s: lines %q (drift %v), want %q", tc.name, got, drift, tc.lines)
		}
	}
}

// userHook is a DOCKER-USER that jumps to our chain.
func userHook() *rules.Chain {
	return &rules.Chain{Name: rules.ChainDockerUser, Policy: "-", Rules: []string{"-j " + rules.ChainUser}}
}

// dockerNFTLive is a live IPv4 filter table next to Docker's nftables
// backend before install: UFW's chains, no Docker chain, no DOCKER-USER.
func dockerNFTLive() *rules.Table {
	return &rules.Table{Name: "filter", Chains: []*rules.Chain{
		{Name: "FORWARD", Policy: "DROP", Rules: []string{"-j ufw-before-forward"}},
		{Name: "ufw-before-forward", Policy: "-"},
		{Name: rules.ChainUFWUserForward, Policy: "-"},
	}}
}

// Under Docker's nftables backend our DOCKER-USER is hooked into FORWARD by
// us, first, accepts Docker's containers' egress and what our policy allows
// into them, and is kept first by later repairs.
func TestDockerNFTablesHooksAndAccepts(t *testing.T) {
	in := Input{Family: rules.IPv4, Rules: mustRules(t, "allow 8080"), DockerNFT: true}
	live := dockerNFTLive()
	drift, input := Repair(in, live)
	if !strings.Contains(strings.Join(drift, "\n"), "FORWARD does not jump to DOCKER-USER") {
		t.Errorf("drift %v", drift)
	}
	applyTo(t, live, input)
	if pos := rules.JumpPosition(live, "FORWARD", rules.ChainDockerUser); pos != 1 {
		t.Fatalf("FORWARD jumps to DOCKER-USER at %d after the repair:\n%s", pos, input)
	}
	if d, again := Repair(in, live); d != nil || again != "" {
		t.Errorf("after the repair: drift %v", d)
	}
	user := strings.Join(live.Chain(rules.ChainUser).Rules, "\n")
	for _, r := range []string{"-i docker0 -j ACCEPT", "-i br-+ -j ACCEPT", "-o docker0 -j ACCEPT", "-o br-+ -j ACCEPT", "-i podman+ -j RETURN"} {
		if !strings.Contains(user+"\n", r+"\n") {
			t.Errorf("DOCKER-USER lacks %q:\n%s", r, user)
		}
	}
	// Allowed traffic is accepted only after our policy chain decided.
	if strings.Index(user, "-o docker0 -j "+rules.ChainForward) > strings.Index(user, "-o docker0 -j ACCEPT") {
		t.Errorf("accept before the policy:\n%s", user)
	}
	// Under Docker's iptables backend nothing of this: Docker's chains decide.
	plain := strings.Join(Filter(Input{Family: rules.IPv4, Rules: in.Rules}).Chain(rules.ChainUser).Rules, "\n")
	if strings.Contains(plain, "-i docker0 -j ACCEPT") || strings.Contains(plain, "-o docker0 -j ACCEPT") {
		t.Errorf("iptables backend accepts Docker's traffic itself:\n%s", plain)
	}
	// The jump moved to the end is put back first.
	fwd := live.Chain("FORWARD")
	fwd.Rules = append(fwd.Rules[1:], fwd.Rules[0])
	if d, _ := Repair(in, live); len(d) != 1 || !strings.Contains(d[0], "not first") {
		t.Errorf("moved jump: drift %v", d)
	}
}

// Uninstall next to Docker's nftables backend deletes DOCKER-USER and
// FORWARD's jump to it: both were ours. Next to Docker's iptables backend,
// DOCKER-USER is Docker's and loses our jump alone: the other tools' rules
// and Docker's RETURN stay, in order.
func TestRemovalOfOurOwnDockerUser(t *testing.T) {
	in := Input{Family: rules.IPv4, DockerNFT: true}
	live := dockerNFTLive()
	_, input := Repair(in, live)
	applyTo(t, live, input)
	// A RETURN decides nothing: the chain is still ours alone.
	live.Chain(rules.ChainDockerUser).Rules = append(live.Chain(rules.ChainDockerUser).Rules, "-j RETURN")
	applyTo(t, live, Removal(live, rules.IPv4))
	if live.Chain(rules.ChainDockerUser) != nil || live.Chain(rules.ChainForward) != nil ||
		strings.Join(live.Chain("FORWARD").Rules, "\n") != "-j ufw-before-forward" {
		t.Errorf("after removal:\n%s", live)
	}
	docker := liveWith(t, rules.IPv4, "-j DOCKER-USER")
	docker.Chain(rules.ChainDockerUser).Rules = []string{"-s 203.0.113.7/32 -j DROP", "-j " + rules.ChainUser, "-j RETURN"}
	applyTo(t, docker, Removal(docker, rules.IPv4))
	if u := docker.Chain(rules.ChainDockerUser); u == nil || strings.Join(u.Rules, "|") != "-s 203.0.113.7/32 -j DROP|-j RETURN" ||
		docker.Chain(rules.ChainUser) != nil || rules.JumpPosition(docker, "FORWARD", rules.ChainDockerUser) != 1 {
		t.Errorf("removal next to Docker's chains:\n%s", docker)
	}
	// Under Docker's nftables backend a DOCKER-USER that holds another
	// tool's rule stays, hooked in, for that tool.
	live = dockerNFTLive()
	_, input = Repair(in, live)
	applyTo(t, live, input)
	live.Chain(rules.ChainDockerUser).Rules = append([]string{"-s 203.0.113.7/32 -j DROP"}, live.Chain(rules.ChainDockerUser).Rules...)
	applyTo(t, live, Removal(live, rules.IPv4))
	if u := live.Chain(rules.ChainDockerUser); u == nil || strings.Join(u.Rules, "|") != "-s 203.0.113.7/32 -j DROP" ||
		rules.JumpPosition(live, "FORWARD", rules.ChainDockerUser) != 1 || live.Chain(rules.ChainUser) != nil {
		t.Errorf("removal of ours next to another tool's rule:\n%s", live)
	}
}

// The rollback of a restore that made DOCKER-USER and hooked it in puts
// FORWARD back too, so that the chain can be deleted again.
func TestSnapshotUndoesOurHook(t *testing.T) {
	in := Input{Family: rules.IPv4, DockerNFT: true}
	live := dockerNFTLive()
	undo := Snapshot(live, rules.IPv4)
	_, input := Repair(in, live)
	applyTo(t, live, input)
	applyTo(t, live, undo)
	if live.Chain(rules.ChainDockerUser) != nil || live.Chain(rules.ChainForward) != nil ||
		strings.Join(live.Chain("FORWARD").Rules, "\n") != "-j ufw-before-forward" || live.Chain("FORWARD").Policy != "DROP" {
		t.Errorf("after the rollback:\n%s", live)
	}
}

// The iptables backend: rules with --host-too also decide in our input
// chain (denies first), INPUT jumps to it first and once, nothing is
// delegated to UFW, and uninstall takes the jump out again.
func TestIPTablesBackendInput(t *testing.T) {
	in := Input{Family: rules.IPv4, Firewall: IPTables,
		Rules: mustRules(t, "allow 443/tcp --host-too", "deny from 198.51.100.9 --host-too", "allow 8080", "bridge virbr+ include")}
	f := Filter(in)
	input := strings.Join(f.Chain(rules.ChainInput).Rules, "\n")
	want := "-s 198.51.100.9/32 -j DROP\n-p tcp -m conntrack --ctorigdstport 443 -j MARK --set-xmark 0x1000000/0x1000000\n" +
		"-p tcp -m conntrack --ctorigdstport 443 -j ACCEPT\n-i virbr+ -p udp -m udp --dport 67 -j ACCEPT"
	if !strings.HasPrefix(input, want) || strings.Contains(input, "8080") {
		t.Errorf("input chain:\n%s\nwant it to start with:\n%s", input, want)
	}
	if strings.Contains(f.String(), rules.ChainUFWUserForward) {
		t.Errorf("the iptables backend delegates to UFW:\n%s", f)
	}
	live := &rules.Table{Name: "filter", Chains: []*rules.Chain{
		{Name: "INPUT", Policy: "DROP", Rules: []string{"-i lo -j ACCEPT", "-p tcp -m tcp --dport 22 -j ACCEPT"}},
		{Name: "FORWARD", Policy: "DROP", Rules: []string{"-j DOCKER-USER"}},
		{Name: "DOCKER", Policy: "-"},
		{Name: rules.ChainDockerUser, Policy: "-", Rules: []string{"-j RETURN"}},
	}}
	undo := Snapshot(live, rules.IPv4)
	drift, restore := Repair(in, live)
	if !strings.Contains(strings.Join(drift, "\n"), "INPUT does not jump to "+rules.ChainInput) {
		t.Errorf("drift %v", drift)
	}
	applyTo(t, live, restore)
	if pos := rules.JumpPosition(live, "INPUT", rules.ChainInput); pos != 1 {
		t.Errorf("INPUT jumps to our chain at %d", pos)
	}
	if d, again := Repair(in, live); d != nil || again != "" {
		t.Errorf("after the repair: drift %v", d)
	}
	applyTo(t, live, undo)
	if live.Chain(rules.ChainInput) != nil || len(live.Chain("INPUT").Rules) != 2 {
		t.Errorf("after the rollback:\n%s", live)
	}
	applyTo(t, live, restore)
	applyTo(t, live, Removal(live, rules.IPv4))
	if live.Chain(rules.ChainInput) != nil || strings.Contains(strings.Join(live.Chain("INPUT").Rules, "\n"), rules.ChainInput) {
		t.Errorf("after removal:\n%s", live)
	}
}
