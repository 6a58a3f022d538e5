// Package nft keeps our nftables tables (the guard, the NAT for guest
// subnets) with `nft -f`, one atomic transaction per change.
package nft

import (
	"context"
	"fmt"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/runner"
)

// table is one inet table of ours, identified live by its comment.
type table struct {
	runner runner.Runner
	name   string
}

// current returns the comment of the live table ("" when there is none or
// it has no comment of ours).
func (t table) current(ctx context.Context) (string, error) {
	out, err := t.runner.Run(ctx, "nft", []string{"list", "table", "inet", t.name}, nil)
	if err != nil {
		// nft says "No such file or directory" for a missing table; anything
		// else is a real failure.
		if strings.Contains(err.Error(), "No such file or directory") {
			return "", nil
		}
		return "", fmt.Errorf("reading table inet %s: %w", t.name, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if c, ok := strings.CutPrefix(line, "comment "); ok {
			return strings.Trim(c, `"`), nil
		}
	}
	return "", nil
}

// ensure applies script unless the live table's comment is already comment,
// and reports whether it changed anything.
func (t table) ensure(ctx context.Context, script, comment string) (bool, error) {
	cur, err := t.current(ctx)
	if err != nil {
		return false, err
	}
	if cur == comment {
		return false, nil
	}
	return true, t.apply(ctx, script)
}

func (t table) apply(ctx context.Context, script string) error {
	if _, err := t.runner.Run(ctx, "nft", []string{"-f", "-"}, []byte(script)); err != nil {
		return fmt.Errorf("applying table inet %s: %w", t.name, err)
	}
	return nil
}

// Guard is the guard table of plan.Guard, applied through a Runner.
type Guard struct {
	Runner runner.Runner
}

func (g Guard) table() table { return table{runner: g.Runner, name: rules.GuardTable} }

// Current returns the comment of the live guard table ("" when there is
// none or it has no comment of ours).
func (g Guard) Current(ctx context.Context) (string, error) { return g.table().current(ctx) }

// Ensure puts the guard table in place unless the current version is there,
// and reports whether it changed anything.
func (g Guard) Ensure(ctx context.Context) (bool, error) {
	script, comment := plan.Guard()
	return g.table().ensure(ctx, script, comment)
}

// Remove deletes the guard table; a missing table is not an error.
func (g Guard) Remove(ctx context.Context) error { return g.table().apply(ctx, plan.GuardRemoval()) }
