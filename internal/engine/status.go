package engine

import (
	"context"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/backend"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Policy is what status says of our policy: the rules, the families whose
// file holds our block, the installed record, and, read live, how the live
// rules, the files and the guard compare with the rules.
type Policy struct {
	Rules     rules.Ruleset
	Installed map[rules.Family]bool
	Recorded  bool
	// Live is each managed family's health, Docker the bridges Docker's
	// rules and API name, and Guard the guard table's state (GuardInPlace
	// and the others); empty unless read live.
	Live   []backend.Health
	Docker []string
	Guard  string
}

// Guard states, as status shows them.
const (
	GuardInPlace  = "in place"
	GuardMissing  = "missing"
	GuardOutdated = "outdated (sync replaces it)"
	GuardEdited   = "edited by hand (sync replaces it)"
)

// Status reads the policy, and with live the live rules too (which needs
// root). An error reading the files (no permission) comes with what was
// read before it.
func (e *Engine) Status(ctx context.Context, live bool) (Policy, error) {
	var p Policy
	var err error
	if p.Rules, err = e.Store.Load(); err != nil {
		return p, err
	}
	if _, p.Recorded, err = e.Store.Record(); err != nil {
		return p, err
	}
	if p.Installed, err = e.Backend.Installed(); err != nil || !live {
		return p, err
	}
	if p.Live, p.Docker, err = e.Backend.Verify(ctx, e.Live(ctx, p.Rules)); err != nil {
		return p, err
	}
	cur, err := e.Guard.Current(ctx)
	if err != nil {
		return p, err
	}
	_, want := plan.Guard(p.Rules.Bridges(), p.Docker)
	edited, err := e.Guard.Edited(ctx)
	if err != nil {
		return p, err
	}
	switch cur {
	case want:
		p.Guard = GuardInPlace
		if edited {
			p.Guard = GuardEdited
		}
	case "":
		p.Guard = GuardMissing
	default:
		p.Guard = GuardOutdated
	}
	return p, nil
}
