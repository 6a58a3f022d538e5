// Package nft keeps our guard table in nftables with `nft -f`, one atomic
// transaction per change.
package nft

import (
	"context"
	"fmt"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/runner"
)

// Guard is the guard table of plan.Guard, applied through a Runner.
type Guard struct {
	Runner runner.Runner
}

// Current returns the comment of the live guard table ("" when there is
// none or it has no comment of ours).
func (g Guard) Current(ctx context.Context) (string, error) {
	out, err := g.Runner.Run(ctx, "nft", []string{"list", "table", "inet", rules.GuardTable}, nil)
	if err != nil {
		// nft says "No such file or directory" for a missing table; anything
		// else is a real failure.
		if strings.Contains(err.Error(), "No such file or directory") {
			return "", nil
		}
		return "", fmt.Errorf("reading the guard table: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if c, ok := strings.CutPrefix(line, "comment "); ok {
			return strings.Trim(c, `"`), nil
		}
	}
	return "", nil
}

// Ensure puts the guard table in place unless the current version is there,
// and reports whether it changed anything.
func (g Guard) Ensure(ctx context.Context) (bool, error) {
	script, comment := plan.Guard()
	cur, err := g.Current(ctx)
	if err != nil {
		return false, err
	}
	if cur == comment {
		return false, nil
	}
	if _, err := g.Runner.Run(ctx, "nft", []string{"-f", "-"}, []byte(script)); err != nil {
		return false, fmt.Errorf("applying the guard table: %w", err)
	}
	return true, nil
}

// Remove deletes the guard table; a missing table is not an error.
func (g Guard) Remove(ctx context.Context) error {
	if _, err := g.Runner.Run(ctx, "nft", []string{"-f", "-"}, []byte(plan.GuardRemoval())); err != nil {
		return fmt.Errorf("removing the guard table: %w", err)
	}
	return nil
}
