package plan

import (
	"fmt"
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
func Repair(in Input, live *rules.Table) (drift []string, input string) {
	in.DeclareUFWForward = live.Chain(in.Family.UFWUserForward()) == nil
	want := Filter(in)
	drift = rules.DiffChains(want, live, rules.ChainDockerUser, rules.ChainForward)
	var jumps []string
	if DockerManaged(live) {
		switch pos := rules.JumpPosition(live, rules.ChainForwardBuiltin, rules.ChainDockerUser); {
		case pos == 0:
			drift = append(drift, "FORWARD does not jump to DOCKER-USER")
		case pos > 1 || countJumps(live) > 1:
			drift = append(drift, fmt.Sprintf("FORWARD jumps to DOCKER-USER at rule %d, not first", pos))
		}
		if len(drift) > 0 {
			for i := 0; i < countJumps(live); i++ {
				jumps = append(jumps, fmt.Sprintf("-D %s -j %s", rules.ChainForwardBuiltin, rules.ChainDockerUser))
			}
			jumps = append(jumps, fmt.Sprintf("-I %s 1 -j %s", rules.ChainForwardBuiltin, rules.ChainDockerUser))
		}
	}
	if len(drift) == 0 {
		return nil, ""
	}
	s := strings.TrimSuffix(want.String(), "COMMIT\n")
	// Chains that are there are edited in place (see Edit: several times
	// faster than a flush and refill).
	if edit, ok := Edit(want, live, rules.ChainDockerUser, rules.ChainForward); ok && !in.DeclareUFWForward {
		s = "*filter\n" + strings.TrimSuffix(strings.TrimPrefix(edit, "*filter\n"), "COMMIT\n")
	}
	for _, j := range jumps {
		s += j + "\n"
	}
	return drift, s + "COMMIT\n"
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

func countJumps(live *rules.Table) int {
	n := 0
	if c := live.Chain(rules.ChainForwardBuiltin); c != nil {
		for _, r := range c.Rules {
			if r == "-j "+rules.ChainDockerUser {
				n++
			}
		}
	}
	return n
}
