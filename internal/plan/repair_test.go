package plan

import (
	"fmt"
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
		{Name: f.UFWUserForward(), Policy: "-"},
	}, want.Chains...)}
	return live
}

// applyTo applies a restore --noflush input to a live model: declared chains
// are flushed, then the input's rules and edits apply in order.
func applyTo(t *testing.T, live *rules.Table, input string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("*filter\n")
	for _, c := range live.Chains {
		if !strings.Contains(input, "\n:"+c.Name+" ") {
			fmt.Fprintf(&b, ":%s %s [0:0]\n", c.Name, c.Policy)
			for _, r := range c.Rules {
				fmt.Fprintf(&b, "-A %s %s\n", c.Name, r)
			}
		}
	}
	b.WriteString(strings.TrimPrefix(input, "*filter\n"))
	d, err := rules.ParseSave(b.String())
	if err != nil {
		t.Fatalf("repair input does not apply: %v\n%s", err, b.String())
	}
	*live = *d.Table("filter")
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
	script, comment := Guard()
	if !strings.Contains(script, `comment "`+comment+`"`) || !strings.HasPrefix(comment, rules.GuardCommentPrefix) {
		t.Errorf("comment %q not in the script", comment)
	}
	golden(t, "guard", script)
	golden(t, "guard-removal", GuardRemoval())
}

func TestInputJump(t *testing.T) {
	chain := func(rs ...string) *rules.Table {
		return &rules.Table{Name: "filter", Chains: []*rules.Chain{{Name: rules.ChainUFWBeforeInput, Policy: "-", Rules: rs}}}
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
		{"UFW not loaded", &rules.Table{Name: "filter"}, ""},
	} {
		drift, lines := Jumps(Input{Family: rules.IPv4}, tc.live, false)
		if got := strings.Join(lines, "|"); got != tc.lines || (len(drift) > 0) != (tc.lines != "") {
			t.Errorf("%s: lines %q (drift %v), want %q", tc.name, got, drift, tc.lines)
		}
	}
}
