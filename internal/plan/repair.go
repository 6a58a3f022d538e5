package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// dockerChains are the chains whose presence says Docker manages this
// family's filter table (DOCKER-FORWARD since Docker 28).
var dockerChains = []string{"DOCKER", "DOCKER-FORWARD"}

// Repair compares the live filter table of family in.Family with the plan and
// returns what drifted, one line each, and the iptables-restore --noflush
// input that repairs all of it in one transaction ("" when nothing drifted).
// Besides our chains it puts FORWARD's jump to DOCKER-USER back in first place
// when Docker manages the family: Docker writes that jump only when it starts,
// so a flushed or reordered FORWARD stays wrong until we mend it.
//
// Docker's bridges are read from live too (added to in.DockerBridges, which
// may hold those of the other family): the table being repaired is the
// freshest fact there is.
func Repair(in Input, live *rules.Table) (drift []string, input string) {
	in.DockerBridges = union(in.DockerBridges, DockerBridges(live))
	in.DeclareUFWForward = live.Chain(in.Family.UFWUserForward()) == nil
	want := Filter(in)
	drift = rules.DiffChains(want, live, rules.OwnedChains...)
	jumpDrift, jumps := jumpsTo(in, want, live, len(drift) > 0)
	drift = append(drift, jumpDrift...)
	if len(drift) == 0 {
		return nil, ""
	}
	return drift, restore(in, want, live, EditInPlace, jumps)
}

// How Restore writes our chains.
const (
	// EditInPlace edits the chains that are there in place (see Edit:
	// several times faster than a flush and refill).
	EditInPlace = false
	// Refill declares every chain of ours, flushing and filling it anew.
	Refill = true
)

// What Jumps and Restore do with a jump into our chains that is right.
const (
	KeepJumps    = false // leave it
	RewriteJumps = true  // write it again (our chains are rewritten anyway)
)

// Restore is the one builder of the iptables-restore --noflush input that
// brings our chains in live to what in renders (refill: EditInPlace or
// Refill), then mends the jumps into them (written again with forceJumps,
// see Jumps); "" when nothing changes. Next to UFW a route chain that is
// not there yet is declared, and so every chain is refilled.
func Restore(in Input, live *rules.Table, refill, forceJumps bool) string {
	want := Filter(in)
	_, jumps := jumpsTo(in, want, live, forceJumps)
	return restore(in, want, live, refill, jumps)
}

// restore is Restore with the plan (want) and the jumps' lines made.
func restore(in Input, want, live *rules.Table, refill bool, jumps []string) string {
	s := strings.TrimSuffix(want.String(), "COMMIT\n")
	if refill == EditInPlace && !(in.DeclareUFWForward && in.Firewall.Profile().RouteChain) {
		if edit, ok := Edit(want, live, rules.OwnedChains...); ok {
			s = "*filter\n" + strings.TrimSuffix(strings.TrimPrefix(edit, "*filter\n"), "COMMIT\n")
		}
	}
	for _, j := range jumps {
		s += j + "\n"
	}
	if s == "*filter\n" {
		return "" // nothing to change
	}
	return s + "COMMIT\n"
}

// Jumps checks the jumps into our chains from chains that are not ours, in
// the live filter table of family in.Family, and returns what is wrong and the
// restore lines that mend it (to follow our chains in one restore).
//
// DOCKER-USER must jump to our chain once (userJump). FORWARD must jump to
// DOCKER-USER first and once when Docker manages the family (in iptables
// or, where the jump is ours alone, with its nftables backend): Docker
// writes that jump only when it starts, so a flushed or reordered FORWARD
// stays wrong until we mend it; with force (our chains are being rewritten
// anyway) it is written again. UFW's input chain must jump to our input
// chain once, next to UFW when UFW's chains are there.
func Jumps(in Input, live *rules.Table, force bool) (drift, lines []string) {
	return jumpsTo(in, Filter(in), live, force)
}

// jumpsTo is Jumps with the plan (want) made.
func jumpsTo(in Input, want, live *rules.Table, force bool) (drift, lines []string) {
	f := in.Family
	drift, lines = userJump(want, live)
	if DockerManaged(live) || in.DockerNFT {
		d, l := first(live, rules.ChainForwardBuiltin, rules.ChainDockerUser, force)
		drift, lines = append(drift, d...), append(lines, l...)
	}
	if in.Firewall.Profile().Input == InputFirst {
		d, l := first(live, rules.ChainInputBuiltin, rules.ChainInput, force)
		drift, lines = append(drift, d...), append(lines, l...)
	}
	if chain := f.UFWBeforeInput(); live.Chain(chain) != nil && in.Firewall.Profile().Input == InputFromUFW {
		rs := live.Chain(chain).Rules
		// UFW loads after*.rules before it hooks its user chain in, so the
		// jump our block appends lands just before "-j ufw-user-input":
		// the live state must look the same, or a ufw reload would change it.
		want := len(rs)
		for i, r := range rs {
			if r == "-j "+f.UFWUserInput() {
				want = i
				break
			}
		}
		n := countRule(live, chain, InputJump)
		if !(n == 1 && want > 0 && rs[want-1] == InputJump) {
			drift = append(drift, fmt.Sprintf("%s jumps to %s %d times, not once right before %s", chain, rules.ChainInput, n, f.UFWUserInput()))
			for i := 0; i < n; i++ {
				lines = append(lines, "-D "+chain+" "+InputJump)
			}
			if want < len(rs) {
				lines = append(lines, fmt.Sprintf("-I %s %d %s", chain, want+1-count(rs[:want], InputJump), InputJump))
			} else {
				lines = append(lines, "-A "+chain+" "+InputJump)
			}
		}
	}
	return drift, lines
}

// userJump checks DOCKER-USER's jump to our chain in live and returns what
// is wrong and the restore lines that mend it. DOCKER-USER is shared: the
// rules of other tools (fail2ban, CrowdSec, an admin's DROP) stay where they
// are. Our jump must be there once: a missing one is inserted first, a
// second one deleted, one below others' rules left where it is (they were
// inserted above it on purpose; doctor names those that let traffic by).
// A DOCKER-USER that is not there is made, so that Docker, starting later,
// finds our jump in it.
//
// An earlier version of ours wrote its policy into DOCKER-USER itself:
// when a rule there jumps to our forward or guests chain, the rules that
// are lines of our chain (want) are that version's, and go.
func userJump(want, live *rules.Table) (drift, lines []string) {
	const user, jump = rules.ChainDockerUser, "-j " + rules.ChainUser
	c := live.Chain(user)
	if c == nil {
		return []string{user + " is not there"}, []string{"-N " + user, "-A " + user + " " + jump}
	}
	intoOurs := func(r string) bool {
		return strings.HasSuffix(r, " -j "+rules.ChainForward) || strings.HasSuffix(r, " -j "+rules.ChainGuests)
	}
	legacy := map[string]bool{}
	if slices.ContainsFunc(c.Rules, intoOurs) {
		for _, w := range want.Chain(rules.ChainUser).Rules {
			legacy[w] = w != "-j RETURN"
		}
	}
	var gone []int // positions, 1-based
	mine, old := 0, 0
	for i, r := range c.Rules {
		switch {
		case r == jump:
			mine++
			if mine > 1 {
				gone = append(gone, i+1)
			}
		case len(legacy) > 0 && (legacy[r] || intoOurs(r)):
			old++
			gone = append(gone, i+1)
		}
	}
	switch {
	case mine == 0:
		drift = append(drift, user+" does not jump to "+rules.ChainUser)
	case mine > 1:
		drift = append(drift, fmt.Sprintf("%s jumps to %s %d times, not once", user, rules.ChainUser, mine))
	}
	if old > 0 {
		drift = append(drift, fmt.Sprintf("%s holds %d rules of an earlier ufw-docker-bridge, now in %s", user, old, rules.ChainUser))
	}
	for i := len(gone) - 1; i >= 0; i-- {
		lines = append(lines, fmt.Sprintf("-D %s %d", user, gone[i]))
	}
	if mine == 0 {
		lines = append(lines, "-I "+user+" 1 "+jump)
	}
	return drift, lines
}

// ForwardFirst returns what is wrong with FORWARD's jump to DOCKER-USER
// in live (missing, not first, not once), as Jumps and Repair say it.
func ForwardFirst(live *rules.Table) []string {
	drift, _ := first(live, rules.ChainForwardBuiltin, rules.ChainDockerUser, false)
	return drift
}

// first checks that built-in chain from jumps to target first and once, and
// returns what is wrong and the restore lines that mend it (written again
// with force).
func first(live *rules.Table, from, target string, force bool) (drift, lines []string) {
	n := countRule(live, from, "-j "+target)
	switch pos := rules.JumpPosition(live, from, target); {
	case pos == 0:
		drift = append(drift, fmt.Sprintf("%s does not jump to %s", from, target))
	case pos > 1 || n > 1:
		drift = append(drift, fmt.Sprintf("%s jumps to %s at rule %d, not first", from, target, pos))
	}
	if len(drift) > 0 || force {
		for i := 0; i < n; i++ {
			lines = append(lines, fmt.Sprintf("-D %s -j %s", from, target))
		}
		lines = append(lines, fmt.Sprintf("-I %s 1 -j %s", from, target))
	}
	return drift, lines
}

// DockerManaged reports whether Docker manages this filter table (its
// chains are there).
func DockerManaged(live *rules.Table) bool {
	for _, c := range dockerChains {
		if live.Chain(c) != nil {
			return true
		}
	}
	return false
}

// union returns the names of a and b, sorted, each once.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// count counts the rules of rs that are exactly rule.
func count(rs []string, rule string) int {
	n := 0
	for _, r := range rs {
		if r == rule {
			n++
		}
	}
	return n
}

// countRule counts the rules of chain that are exactly rule.
func countRule(live *rules.Table, chain, rule string) int {
	if c := live.Chain(chain); c != nil {
		return count(c.Rules, rule)
	}
	return 0
}
