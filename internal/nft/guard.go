// Package nft keeps our nftables tables (the guard, the NAT for guest
// subnets) with `nft -f`, one atomic transaction per change.
package nft

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/runner"
)

// table is one inet table of ours, identified live by its comment and
// checked against what we last wrote (Sums).
type table struct {
	runner runner.Runner
	name   string
	sums   Sums
	// commentOf reads the version from a listing (tableComment, or the
	// sets table's rule comment).
	commentOf func(listing string) string
	// list, when set, reads the listing instead of nft (the sets table:
	// nft reads every element of its sets first, 0.5 s for 100,000).
	list func() (listing string, there bool, err error)
}

// current returns the version the live table says it is ("" when there is
// none or it has no comment of ours).
func (t table) current(ctx context.Context) (string, error) {
	listing, _, err := t.live(ctx)
	return t.commentOf(listing), err
}

// ensure applies script unless the live table is version comment as we
// wrote it, and reports whether it changed anything.
func (t table) ensure(ctx context.Context, script, comment string) (bool, error) {
	ok, err := t.intact(ctx, comment)
	if err != nil || ok {
		return false, err
	}
	return true, t.apply(ctx, script)
}

// apply runs script and remembers the table it leaves.
func (t table) apply(ctx context.Context, script string) error {
	if err := t.write(ctx, script); err != nil {
		return err
	}
	return t.record(ctx)
}

// write runs script, which changes set elements only: what Sums leaves out.
func (t table) write(ctx context.Context, script string) error {
	if _, err := t.runner.Run(ctx, "nft", []string{"-f", "-"}, []byte(script)); err != nil {
		return fmt.Errorf("applying table inet %s: %w", t.name, err)
	}
	return nil
}

// Guard is the guard table of plan.Guard, applied through a Runner, with its
// sets of published ports kept from Docker's live DNAT rules.
type Guard struct {
	Runner runner.Runner
	// Tables reads the live nat table; nil leaves the sets alone.
	Tables Saver
	// Last remembers the sets last written, so that a long-running watcher
	// writes them only when Docker's ports change; nil writes them each time.
	Last *Elements
	// Sums is where the table's listing is remembered after each write.
	Sums Sums
	// Writer, when set, writes the sets of published ports over netlink
	// (NetlinkElements); nil writes them with nft.
	Writer GuardWriter
}

// GuardWriter writes the guard's sets of published ports.
type GuardWriter interface {
	Published(keys []plan.GuardKey) error
}

// Elements is what a Guard last wrote to its sets of published ports.
type Elements struct {
	mu      sync.Mutex
	keys    []plan.GuardKey
	written bool
}

func (g Guard) table() table {
	return table{runner: g.Runner, name: rules.GuardTable, sums: g.Sums, commentOf: tableComment}
}

// Current returns the comment of the live guard table ("" when there is
// none or it has no comment of ours).
func (g Guard) Current(ctx context.Context) (string, error) { return g.table().current(ctx) }

// Edited reports whether the live guard differs from what we last wrote.
func (g Guard) Edited(ctx context.Context) (bool, error) { return g.table().edited(ctx) }

// Drops returns the packets the guard dropped, by chain ("check": routed
// to a container bridge, "check-input": to docker-proxy's ports): each a
// connection our iptables rules did not see. No guard: none.
func (g Guard) Drops(ctx context.Context) (map[string]uint64, error) {
	out, err := g.Runner.Run(ctx, "nft", []string{"list", "table", "inet", rules.GuardTable}, nil)
	if err != nil {
		if strings.Contains(err.Error(), "No such file or directory") {
			return nil, nil
		}
		return nil, fmt.Errorf("reading table inet %s: %w", rules.GuardTable, err)
	}
	return GuardDrops(string(out)), nil
}

// GuardDrops reads the counters of the guard's drops from `nft list
// table` text.
func GuardDrops(text string) map[string]uint64 {
	drops := map[string]uint64{}
	chain := ""
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "chain":
			chain = f[1]
		case len(f) == 6 && f[0] == "counter" && f[1] == "packets" && f[5] == "drop":
			n, err := strconv.ParseUint(f[2], 10, 64)
			if err == nil {
				drops[chain] += n
			}
		}
	}
	return drops
}

// Ensure puts the guard table for the bridge settings br and Docker's
// bridges in place unless that version is there, and reports whether it
// changed anything.
func (g Guard) Ensure(ctx context.Context, br rules.Bridges, dockerBridges []string) (bool, error) {
	script, comment := plan.Guard(br, dockerBridges)
	return g.table().ensure(ctx, script, comment)
}

// Published writes the guard's sets of published ports from Docker's DNAT
// rules; fresh says the table was just made (its sets are empty). While
// Docker's DOCKER chain is gone the sets keep what they hold: that is when
// they matter.
func (g Guard) Published(ctx context.Context, fresh bool) error {
	if g.Tables == nil {
		return nil
	}
	nat, err := g.Tables.Save(ctx, rules.IPv4, "nat")
	if err != nil {
		return fmt.Errorf("reading Docker's published ports: %w", err)
	}
	ports, ok := plan.PublishedPorts(nat)
	if g.Last != nil {
		g.Last.mu.Lock()
		defer g.Last.mu.Unlock()
	}
	var keys []plan.GuardKey
	switch {
	case ok:
		keys = plan.GuardKeys(ports)
	case fresh && g.Last != nil && g.Last.written:
		// A new guard table while Docker's rules are gone: the ports last
		// seen are all there is to go by.
		keys = g.Last.keys
	default:
		return nil
	}
	if g.Last != nil && !fresh && g.Last.written && slices.Equal(g.Last.keys, keys) {
		return nil
	}
	if g.Writer != nil {
		err = g.Writer.Published(keys)
	} else {
		err = g.table().write(ctx, plan.GuardElements(keys))
	}
	if err != nil {
		return err
	}
	if g.Last != nil {
		g.Last.keys, g.Last.written = keys, true
	}
	return nil
}

// Remove deletes the guard table; a missing table is not an error.
func (g Guard) Remove(ctx context.Context) error { return g.table().apply(ctx, plan.GuardRemoval()) }
