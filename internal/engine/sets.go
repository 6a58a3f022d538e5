package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
)

// SetMutation changes the entries of one address set: it gets them (ok:
// the set is there) and the rules that name it, and returns the new ones,
// or remove to delete the set, and a message for the user; an error leaves
// everything as it was.
type SetMutation func(entries []rules.SetEntry, ok bool, usedBy rules.Ruleset) (after []rules.SetEntry, remove bool, msg string, err error)

// ChangeSet changes set name with m under the lock: its state file first,
// then, when installed, the kernel's sets in one transaction. A kernel
// that refuses puts the file back. A set a rule names is not removed.
func (e *Engine) ChangeSet(ctx context.Context, name string, m SetMutation) error {
	unlock, err := state.Lock(e.LockPath)
	if err != nil {
		return err
	}
	defer unlock()
	rs, err := e.load(true)
	if err != nil {
		return err
	}
	before, ok, err := e.Store.LoadSet(name)
	if err != nil {
		return err
	}
	var usedBy rules.Ruleset
	for _, r := range rs {
		if r.Set == name {
			usedBy = append(usedBy, r)
		}
	}
	after, remove, msg, err := m(before, ok, usedBy)
	if err != nil {
		return err
	}
	if remove && len(usedBy) > 0 {
		return fmt.Errorf("%w: set %s is in use by rule %d (%s): delete the rule first", rules.ErrSyntax, name, rs.Index(usedBy[0])+1, usedBy[0])
	}
	put := func() error {
		if remove {
			return e.Store.RemoveSet(name)
		}
		return e.Store.SaveSet(name, after)
	}
	back := func() error {
		if !ok {
			return e.Store.RemoveSet(name)
		}
		return e.Store.SaveSet(name, before)
	}
	if err := put(); err != nil {
		return err
	}
	_, installed, err := e.Store.Record()
	if err != nil {
		return errors.Join(err, back())
	}
	if installed {
		var kerr error
		if remove || !ok {
			// A set that comes or goes changes the table.
			kerr = e.ensureSets(ctx, rs, e.Live(ctx, rs), e.dockerBridges(ctx))
		} else {
			kerr = e.Sets.Change(name, before, after)
		}
		if kerr != nil {
			return errors.Join(kerr, back())
		}
	}
	fmt.Fprintln(e.Out, msg)
	if !installed {
		fmt.Fprintln(e.Out, "not installed: the set is saved and takes effect with `ufw-docker-bridge install`")
	}
	return nil
}
