package nft

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/runner"
)

// SetElements writes the elements of our sets table's sets
// (NetlinkElements): each call is one transaction, whatever the number of
// elements.
type SetElements interface {
	// Sets lists the nftables sets of our sets table; ok is false when
	// the table is not there.
	Sets() (sets []string, ok bool, err error)
	// Listing is our sets table's chains, rules and sets' declarations,
	// without elements, as one text that changes with any of them (its
	// version comment in it as `comment "..."`); there is false when the
	// table is not there.
	Listing() (listing string, there bool, err error)
	// Replace makes set name (NAME-v4 and NAME-v6) hold exactly v4 and v6.
	Replace(name string, v4, v6 []rules.Interval, now time.Time) error
	// Update deletes the intervals gone (exactly as they were added) and
	// adds those added (disjoint from what stays).
	Update(name string, gone, added []rules.Interval, now time.Time) error
}

// Sets is our sets table (plan.SetsTable): its chains and the sets'
// declarations through `nft -f`, the elements through Elements.
type Sets struct {
	Runner   runner.Runner
	Elements SetElements
	// Sums is where the table's listing is remembered after each write.
	Sums Sums
}

func (s Sets) table() table {
	t := table{runner: s.Runner, name: rules.SetsTable, sums: s.Sums, commentOf: setsComment}
	if s.Elements != nil {
		t.list = s.Elements.Listing
	}
	return t
}

// Current returns the version the live table says it is: the comment of
// its forward chain's first rule ("" when there is none).
func (s Sets) Current(ctx context.Context) (string, error) { return s.table().current(ctx) }

// Edited reports whether the live table differs from what we last wrote.
func (s Sets) Edited(ctx context.Context) (bool, error) { return s.table().edited(ctx) }

// setsComment reads the sets table's version from its listing.
func setsComment(listing string) string {
	if _, c, ok := strings.Cut(listing, `comment "`+rules.SetsCommentPrefix); ok {
		c, _, _ = strings.Cut(c, `"`)
		return rules.SetsCommentPrefix + c
	}
	return ""
}

// Ensure brings the sets table to what rule set rs and the state's sets
// (names, with their entries from load) need, and reports whether it
// changed anything: the chains when the rules or the bridges changed, a
// set that is not there made and filled, a set no longer in the state
// deleted; with no set at all, no table. The elements of a set that is there are left alone (Replace
// and Update keep them).
func (s Sets) Ensure(ctx context.Context, rs rules.Ruleset, names []string, dockerBridges []string, load func(string) ([]rules.SetEntry, error)) (bool, error) {
	// Twice at most: a table deleted between the read and the write makes
	// the write fail (the script makes no table then), and the second
	// round makes it whole, its sets filled.
	for try := 0; ; try++ {
		changed, err := s.ensure(ctx, rs, names, dockerBridges, load)
		if err == nil || try == 1 {
			return changed, err
		}
	}
}

func (s Sets) ensure(ctx context.Context, rs rules.Ruleset, names []string, dockerBridges []string, load func(string) ([]rules.SetEntry, error)) (bool, error) {
	live, there, err := s.Elements.Sets()
	if err != nil {
		return false, err
	}
	if len(names) == 0 {
		// No set, no rule that names one: no table.
		if !there {
			return false, nil
		}
		return true, s.Remove(ctx)
	}
	script, comment := plan.SetsTable(rs, names, dockerBridges, live, !there)
	intact := false
	if there {
		if intact, err = s.table().intact(ctx, comment); err != nil {
			return false, err
		}
	}
	var fill []string
	for _, n := range names {
		if !slices.Contains(live, n+"-v4") || !slices.Contains(live, n+"-v6") {
			fill = append(fill, n)
		}
	}
	if intact && len(fill) == 0 && len(live) == 2*len(names) {
		return false, nil
	}
	// Every set to fill is read before the table changes: one that cannot
	// be read (its file lost) must not stand in the kernel empty, marked
	// as consulted.
	entries := make([][]rules.SetEntry, len(fill))
	for i, n := range fill {
		if entries[i], err = load(n); err != nil {
			return false, err
		}
	}
	now := time.Now()
	// The sets there keep their elements; each gets its sentinel before
	// the chains that ask for it (a table written by a version without
	// them, or a set flushed by hand).
	for _, n := range names {
		if !slices.Contains(fill, n) {
			if err := s.sentinel(n, load, now); err != nil {
				return false, err
			}
		}
	}
	if err := s.table().apply(ctx, script); err != nil {
		return false, err
	}
	for i, n := range fill {
		v4, v6 := rules.Intervals(withSentinels(entries[i]), now)
		if err := s.write(func() error { return s.Elements.Replace(n, v4, v6, now) }); err != nil {
			return true, fmt.Errorf("filling set %s: %w", n, err)
		}
	}
	return true, nil
}

// sentinel adds set name's sentinels to the kernel's set; where they do
// not go in alone (an entry of the state covers 0.0.0.0 or ::, and the
// kernel holds it merged), the set is loaded again whole from the state.
func (s Sets) sentinel(name string, load func(string) ([]rules.SetEntry, error), now time.Time) error {
	v4, v6 := rules.Intervals(sentinels, now)
	err := s.write(func() error { return s.Elements.Update(name, nil, slices.Concat(v4, v6), now) })
	if err == nil {
		return nil
	}
	entries, err := load(name)
	if err != nil {
		return err
	}
	return s.Reload(name, entries)
}

// write runs a write of elements as a writer of ours: on one thread that
// bears a new token, noted first (Sums.NoteWriter), then its name again. A
// token that cannot be noted does not stop the write (a ban must land): a
// watcher then loads the set again from its state, which already holds it.
func (s Sets) write(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	token := WriterToken()
	s.Sums.NoteWriter(token)
	defer setThreadName(setThreadName(token))
	return f()
}

// Change makes set name hold the entries after instead of before, in one
// transaction: the intervals that differ go and come; when the kernel no
// longer holds what went (an element timed out there), the whole set is
// replaced instead.
func (s Sets) Change(name string, before, after []rules.SetEntry) error {
	now := time.Now()
	old4, old6 := rules.Intervals(withSentinels(before), now)
	new4, new6 := rules.Intervals(withSentinels(after), now)
	gone := slices.Concat(minus(old4, new4), minus(old6, new6))
	added := slices.Concat(minus(new4, old4), minus(new6, old6))
	if len(gone) == 0 && len(added) == 0 {
		return nil
	}
	return s.write(func() error {
		if err := s.Elements.Update(name, gone, added, now); err == nil {
			return nil
		}
		if err := s.Elements.Replace(name, new4, new6, now); err != nil {
			return fmt.Errorf("writing set %s: %w", name, err)
		}
		return nil
	})
}

// Reload makes set name hold entries again, whatever the kernel holds now
// (another process changed its elements: EditLog).
func (s Sets) Reload(name string, entries []rules.SetEntry) error {
	v4, v6 := rules.Intervals(withSentinels(entries), time.Now())
	if err := s.write(func() error { return s.Elements.Replace(name, v4, v6, time.Now()) }); err != nil {
		return fmt.Errorf("loading set %s again: %w", name, err)
	}
	return nil
}

// sentinels are the elements every kernel set holds besides the state's
// entries (rules.SetSentinelV4): a set flushed by hand lacks them, and the
// sources chain then drops instead of reading it as empty.
var sentinels = []rules.SetEntry{
	{Prefix: netip.PrefixFrom(netip.MustParseAddr(rules.SetSentinelV4), 32)},
	{Prefix: netip.PrefixFrom(netip.MustParseAddr(rules.SetSentinelV6), 128)},
}

// withSentinels is entries as the kernel's sets hold them.
func withSentinels(entries []rules.SetEntry) []rules.SetEntry {
	return append(slices.Clip(entries), sentinels...)
}

// Remove deletes the sets table; a missing table is not an error.
func (s Sets) Remove(ctx context.Context) error { return s.table().apply(ctx, plan.SetsRemoval()) }

// minus returns the intervals of a that b does not hold exactly.
func minus(a, b []rules.Interval) []rules.Interval {
	type key struct {
		first, last netip.Addr
		expires     int64
	}
	k := func(x rules.Interval) key { return key{x.First, x.Last, x.Expires.UnixNano()} }
	in := make(map[key]bool, len(b))
	for _, y := range b {
		in[k(y)] = true
	}
	var out []rules.Interval
	for _, x := range a {
		if !in[k(x)] {
			out = append(out, x)
		}
	}
	return out
}
