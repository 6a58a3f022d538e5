// Package engine is the write path of every command: under one lock it
// loads the state, changes it, prepares and validates the new files and live
// rules, applies them, and saves the state, undoing it all on failure.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/backend"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/textdiff"
)

// Engine ties the state, the lock, the backend (our block in the rules
// files and the live rules) and the guard together.
type Engine struct {
	Store   state.Store
	Backend *backend.Backend
	Guard   Guard
	NAT     NAT
	Sets    Sets
	// Zones is firewalld's configuration of ours (nil next to UFW).
	Zones Zones
	// Guests finds the addresses of forwards' guests (discover.Guests);
	// nil: no forward opens anything.
	Guests Guests
	// SetEdits, in the watcher, returns the sets whose elements a process
	// not ours changed since the last call, with that process said
	// (nft.EditLog); nil elsewhere.
	SetEdits func() map[string]string
	LockPath string
	Out      io.Writer

	// dockerSeen is Docker's filter DOCKER chain as the last pass read it;
	// dockerChanged says it changed in that pass.
	dockerSeen    string
	dockerChanged bool
	// bridgesSeen are Docker's bridges as the last pass read them.
	bridgesSeen []string
	// passed says a pass ran before in this process.
	passed bool
	// guestNotes are the notes the last pass said about forwards' guests.
	guestNotes map[string]bool
}

// Guard is the nftables table that keeps published ports closed while our
// iptables rules are clobbered (nft.Guard).
type Guard interface {
	// Ensure puts the guard for the bridge settings and Docker's bridges in
	// place and reports whether it changed it.
	Ensure(ctx context.Context, settings rules.Bridges, dockerBridges []string) (bool, error)
	// Published fills its sets of Docker's published ports (fresh: the
	// table was just made).
	Published(ctx context.Context, fresh bool) error
	// Remove deletes the guard; a missing guard is not an error.
	Remove(ctx context.Context) error
	// Current returns the version of the live guard, "" when there is none.
	Current(ctx context.Context) (string, error)
	// Edited reports whether the live guard differs from what we last
	// wrote (a hand edit that kept its version).
	Edited(ctx context.Context) (bool, error)
}

// Sets is our nftables table of address sets and the chains that use them
// (nft.Sets).
type Sets interface {
	// Ensure brings it to what the rules and the state's sets need (no
	// table when there is no set) and reports whether it changed it.
	Ensure(ctx context.Context, rs rules.Ruleset, names, dockerBridges []string, load func(string) ([]rules.SetEntry, error)) (bool, error)
	// Change makes one set hold after instead of before.
	Change(name string, before, after []rules.SetEntry) error
	// Reload makes one set hold entries again, whatever the kernel holds.
	Reload(name string, entries []rules.SetEntry) error
	// Remove deletes the table; a missing one is not an error.
	Remove(ctx context.Context) error
}

// NAT is the nftables table that masquerades guest subnets no one else
// masquerades (nft.NAT).
type NAT interface {
	// Ensure puts the NAT the live host needs in place, with the DNAT of
	// the forwards, and says what it changed.
	Ensure(ctx context.Context, settings rules.Bridges, forwards []plan.Forward) ([]string, error)
	// Script returns the `nft -f` script Ensure would apply.
	Script(ctx context.Context, settings rules.Bridges, forwards []plan.Forward) (string, error)
	// Remove deletes the NAT table; a missing one is not an error.
	Remove(ctx context.Context) error
}

// Guests finds a guest's addresses (discover.Guests).
type Guests interface {
	Addrs(ctx context.Context, guest string) ([]netip.Addr, error)
}

// Zones keeps the firewalld zone and policy of ours (firewalld.Guests).
type Zones interface {
	// Ensure puts them in place and says what it changed; a change reloads
	// firewalld, which may flush iptables. An error whose chain holds an
	// Unreachable() true error means firewalld could not be reached.
	Ensure(settings rules.Bridges) ([]string, error)
	// Remove deletes them and says what it did.
	Remove() ([]string, error)
}

// After a firewalld reload of ours, Docker puts back the rules the reload
// took away, 70-230 ms after firewalld's Reloaded in the lab and later on a
// loaded host; ours must land after them, and Docker's bridges must be read
// from them. reloadSettle is the least wait, settleMax the most, and
// settlePoll the pause between two looks (settle).
const (
	reloadSettle = 300 * time.Millisecond
	settleMax    = 5 * time.Second
	settlePoll   = 100 * time.Millisecond
	// settleLooks is how many looks in a row must read Docker's chains the
	// same: on a loaded host Docker pauses longer than settlePoll between
	// two of its inserts (CI saw DOCKER-ISOLATION-STAGE-1 land above our
	// jump after two equal looks).
	settleLooks = 3
)

// commitTries bounds the attempts at a change whose live restore failed
// because another writer changed the rules meanwhile; commitRetryPause is
// the wait between them (Docker re-applies its rules 70-230 ms after a
// firewalld reload, measured in the lab).
const (
	commitTries      = 3
	commitRetryPause = 250 * time.Millisecond
)

// Mutation changes the rule set; it returns the new set and a message for
// the user, or an error that leaves everything as it was.
type Mutation func(rules.Ruleset) (rules.Ruleset, string, error)

// Install writes the blocks and applies the live rules.
func (e *Engine) Install(ctx context.Context, dryRun bool) error {
	return e.run(ctx, backend.Install, keep("installed"), dryRun)
}

// InstallWith installs with the rule set m makes: one change, so that the
// rules are live from the first moment our policy is (import needs it:
// what another tool opened stays open).
func (e *Engine) InstallWith(ctx context.Context, m Mutation, dryRun bool) error {
	return e.run(ctx, backend.Install, m, dryRun)
}

// Uninstall removes the blocks and the live rules; the user's rules stay in
// the state directory for a later install.
func (e *Engine) Uninstall(ctx context.Context, dryRun bool) error {
	return e.run(ctx, backend.Remove, keep("uninstalled"), dryRun)
}

// Change applies a mutation of the rule set to the state, the installed
// blocks and the live rules.
func (e *Engine) Change(ctx context.Context, m Mutation, dryRun bool) error {
	return e.run(ctx, backend.Update, m, dryRun)
}

func keep(msg string) Mutation {
	return func(rs rules.Ruleset) (rules.Ruleset, string, error) { return rs, msg, nil }
}

// Locked runs f under the lock every writer takes: a step of a command's
// that writes the live firewall outside a change (import's removal of
// another tool's rules) never races a pass.
func (e *Engine) Locked(f func() error) error {
	unlock, err := state.Lock(e.LockPath)
	if err != nil {
		return err
	}
	defer unlock()
	return f()
}

// Restore makes rule set rs (from the journal or apply's policy, described
// by what) the admin's rules again; the rules a tool owns (fail2ban's) stay
// as they are now (rules.Ruleset.WithOwned). Unlike other changes it goes on
// when the rules file cannot be read (cut short, missing while installed):
// it replaces that file, and says so.
func (e *Engine) Restore(ctx context.Context, rs rules.Ruleset, what string, dryRun bool) error {
	return e.runFrom(ctx, backend.Update, func(old rules.Ruleset) (rules.Ruleset, string, error) { return old.WithOwned(rs), what, nil }, dryRun, true)
}

func (e *Engine) run(ctx context.Context, mode backend.Mode, m Mutation, dryRun bool) error {
	return e.runFrom(ctx, mode, m, dryRun, false)
}

// runFrom is run; replacing says the mutation does not read the current
// rules, so a rules file that cannot be read is replaced, not an error.
func (e *Engine) runFrom(ctx context.Context, mode backend.Mode, m Mutation, dryRun, replacing bool) error {
	unlock, err := state.Lock(e.LockPath)
	if err != nil {
		return err
	}
	defer unlock()
	old, err := e.load(mode != backend.Remove)
	if err != nil && replacing {
		fmt.Fprintf(e.Out, "the rules file was not read (%v): it is replaced\n", err)
		old, err = nil, nil
	}
	if err != nil {
		return err
	}
	rs, msg, err := m(old)
	if err != nil {
		return err
	}
	if !dryRun {
		if err := e.newSets(rs); err != nil {
			return err
		}
	}
	bridges := bridgesChanged(mode, old, rs)
	// A reload of ours makes the bridges Docker had before it Docker's for
	// this command (settle); the next command reads them afresh.
	defer func() { e.Backend.Known = nil }()
	undoZones, err := e.ensureZones(ctx, mode, old, rs, bridges && !dryRun)
	if err != nil {
		return err
	}
	liveRS := e.Live(ctx, rs)
	change, err := e.Backend.Prepare(ctx, liveRS, mode)
	if err != nil {
		return errors.Join(err, undoZones())
	}
	stateChanged := state.Format(rs) != state.Format(old)
	if dryRun {
		return e.printDryRun(ctx, change, mode, old, rs, stateChanged)
	}
	// The sets table before our chains: they drop what it has not marked.
	setsChanged := mode == backend.Install || bridges || setRules(old) != setRules(rs)
	undoBefore := undoZones // what was done before the commit
	if mode != backend.Remove && len(change.Families) > 0 && setsChanged {
		if err := e.ensureSets(ctx, rs, liveRS, change.DockerBridges); err != nil {
			return errors.Join(err, undoZones())
		}
		undoBefore = func() error {
			return errors.Join(e.ensureSets(ctx, old, e.Live(ctx, old), change.DockerBridges), undoZones())
		}
	}
	undo, err := e.Backend.Commit(ctx, change)
	// Another writer may change the live rules between our read and our
	// restore (firewalld's reload and Docker's re-application after it, a
	// ufw reload): the restore then fails, and Commit has undone what it
	// did. Read the live rules again and try again, a few times.
	for try := 1; err != nil && try < commitTries; try++ {
		time.Sleep(commitRetryPause)
		if change, err = e.Backend.Prepare(ctx, liveRS, mode); err != nil {
			break
		}
		undo, err = e.Backend.Commit(ctx, change)
	}
	if err != nil {
		return errors.Join(err, undoBefore())
	}
	if mode == backend.Install {
		for _, f := range rules.Families {
			if why, off := e.Backend.Unmanaged[f]; off {
				fmt.Fprintf(e.Out, "%s: not managed: %s\n", f, why)
			}
		}
	}
	undoCommit := undo
	undo = func() error { return errors.Join(undoCommit(), undoBefore()) }
	switch {
	case mode == backend.Install || bridges && len(change.Families) > 0:
		// A bridge rule changes the guard too (an excluded bridge is left
		// to its owner there as well).
		changed, err := e.Guard.Ensure(ctx, rs.Bridges(), change.DockerBridges)
		if err == nil {
			err = e.Guard.Published(ctx, changed)
		}
		if err != nil {
			return errors.Join(err, undo())
		}
	case mode == backend.Remove:
		// firewalld's zone and policy go first: they are what a stopped
		// firewalld keeps us from removing, and the guard must still be
		// in place when that fails.
		if e.Zones != nil {
			done, err := e.Zones.Remove()
			for _, m := range done {
				fmt.Fprintln(e.Out, m)
			}
			if err != nil {
				return errors.Join(err, undo())
			}
		}
		if err := errors.Join(e.Guard.Remove(ctx), e.NAT.Remove(ctx), e.Sets.Remove(ctx)); err != nil {
			return errors.Join(err, e.restoreTables(ctx, liveRS, change.DockerBridges), e.restoreZones(rs), undo())
		}
	}
	if mode != backend.Remove && len(change.Families) > 0 && natChanged(mode, old, rs) {
		// NAT is not a protection: a failure here is reported, and the
		// rules and files already committed stay (sync retries it). A
		// forward without its DNAT is closed.
		nat, err := e.NAT.Ensure(ctx, rs.Bridges(), plan.Forwards(liveRS))
		for _, m := range nat {
			fmt.Fprintln(e.Out, m)
		}
		if err != nil {
			defer fmt.Fprintln(e.Out, "warning:", err)
		}
	}
	// install leaves a rules file (so that a missing one is never taken for
	// an empty policy) and the installed record; uninstall removes the record.
	if stateChanged || mode == backend.Install && e.Store.RulesMissing() {
		if err := e.Store.Save(rs); err != nil {
			return errors.Join(err, undo())
		}
	}
	// The journal is a record, not a protection: a failure to write it
	// is said, and the change stands.
	if stateChanged {
		if err := e.Store.Journal(old, rs, msg, time.Now()); err != nil {
			defer fmt.Fprintln(e.Out, "warning:", err)
		}
	}
	switch mode {
	case backend.Install:
		if err := e.Store.SaveRecord(state.Record{Backend: e.Backend.Firewall.String(), Dir: e.Backend.Dir}); err != nil {
			return errors.Join(err, undo())
		}
	case backend.Remove:
		if err := e.Store.RemoveRecord(); err != nil {
			return errors.Join(err, undo())
		}
	}
	fmt.Fprintln(e.Out, msg)
	if stateChanged {
		e.sayUnusedSets(rs)
	}
	if mode == backend.Update && len(change.Families) == 0 {
		fmt.Fprintln(e.Out, "not installed: the rule is saved and takes effect with `ufw-docker-bridge install`")
	}
	return nil
}

// heal says whether we are installed, from the installed record (or, for
// an installation from before the record, from our blocks, and then it
// writes the record). Where the record says installed but a file lacks our
// block (ufw reset moved it away, a package upgrade put its own copy in
// place), it writes the block again and applies the rules, as install
// would, and says so: that drift ends protection at the next boot.
func (e *Engine) heal(ctx context.Context, rs rules.Ruleset) (healed []string, installed bool, err error) {
	_, recorded, err := e.Store.Record()
	if err != nil {
		return nil, false, err
	}
	inst, err := e.Backend.Installed()
	if err != nil {
		return nil, false, err
	}
	blocks := inst[rules.IPv4] || inst[rules.IPv6]
	if !recorded {
		if !blocks {
			return nil, false, nil
		}
		return nil, true, e.Store.SaveRecord(state.Record{Backend: e.Backend.Firewall.String(), Dir: e.Backend.Dir})
	}
	if !slices.ContainsFunc(e.Backend.Managed(), func(f rules.Family) bool { return !inst[f] }) {
		return nil, true, nil
	}
	change, err := e.Backend.Prepare(ctx, rs, backend.Install)
	if err != nil {
		return nil, true, fmt.Errorf("writing our block again: %w", err)
	}
	if len(change.Files) == 0 {
		return nil, true, nil
	}
	if _, err := e.Backend.Commit(ctx, change); err != nil {
		return nil, true, fmt.Errorf("writing our block again: %w", err)
	}
	for _, fc := range change.Files {
		healed = append(healed, fmt.Sprintf("%s: our block was missing from %s (ufw reset, or a package's copy of the file): written again", fc.Family, fc.Path))
	}
	return healed, true, nil
}

// load reads the rules. Where the installed record says we are installed,
// a missing rules file is an error (strict), never an empty policy: it
// would remove every rule, deny rules included, from the kernel and the
// files. Only uninstall may go on without it.
func (e *Engine) load(strict bool) (rules.Ruleset, error) {
	rs, err := e.Store.Load()
	if err != nil || !strict || !e.Store.RulesMissing() {
		return rs, err
	}
	if _, installed, err := e.Store.Record(); err != nil || installed {
		return nil, errors.Join(err, fmt.Errorf("%s is missing while %s says we are installed: it is not read as no rules "+
			"(nothing was applied; put the file back, or run uninstall)", e.Store.RulesPath(), e.Store.RecordPath()))
	}
	return rs, nil
}

// setNames are the sets of the state and those rs names, sorted, each once.
func (e *Engine) setNames(rs rules.Ruleset) ([]string, error) {
	names, err := e.Store.SetNames()
	if err != nil {
		return nil, err
	}
	names = append(names, plan.SetNames(rs)...)
	slices.Sort(names)
	return slices.Compact(names), nil
}

// loadSet reads a set of the state to fill the kernel's. Every set a rule
// names has a file (newSets makes it with the rule): one that is not there
// was lost, and is an error, never an empty set, so that a deny set is not
// rebuilt empty (a reboot, `nft flush ruleset`). Our chains then drop what
// the sets table has not seen: closed, not open.
func (e *Engine) loadSet(name string) ([]rules.SetEntry, error) {
	entries, ok, err := e.Store.LoadSet(name)
	if err == nil && !ok {
		err = fmt.Errorf("set %s: %s is missing: it is not read as an empty set (put it back, or `ufw-docker-bridge set load %s FILE`)",
			name, e.Store.SetPath(name), name)
	}
	return entries, err
}

// ensureSets brings the sets table to what the rules and the state's sets
// need: its sets are those of the state and of the rules as written, its
// chains decide the rules as live (e.Live: a rule by name marks the host
// ports Docker publishes for it, not the container's).
func (e *Engine) ensureSets(ctx context.Context, written, live rules.Ruleset, dockerBridges []string) error {
	_, err := e.syncSets(ctx, written, live, dockerBridges)
	return err
}

// syncSets is ensureSets that says whether it changed the table.
func (e *Engine) syncSets(ctx context.Context, written, live rules.Ruleset, dockerBridges []string) (bool, error) {
	names, err := e.setNames(written)
	if err != nil {
		return false, err
	}
	return e.Sets.Ensure(ctx, live, names, dockerBridges, e.loadSet)
}

// reloadEdited loads again, from the state, each set of ours whose
// elements another process changed (a hand `nft flush set`), and says so.
func (e *Engine) reloadEdited() ([]string, error) {
	if e.SetEdits == nil {
		return nil, nil
	}
	edits := e.SetEdits()
	names := make([]string, 0, len(edits))
	for name := range edits {
		names = append(names, name)
	}
	slices.Sort(names)
	var said []string
	var errs []error
	for _, name := range names {
		entries, ok, err := e.Store.LoadSet(name)
		if err != nil || !ok {
			errs = append(errs, err)
			continue
		}
		if err := e.Sets.Reload(name, entries); err != nil {
			errs = append(errs, err)
			continue
		}
		said = append(said, fmt.Sprintf("sets: set %s's elements changed by %s: loaded again from the state", name, edits[name]))
	}
	return said, errors.Join(errs...)
}

// sayUnusedSets names each set of the state that holds entries while no
// rule of rs names it: its addresses are neither kept away nor let in, and
// a change that left it so (a restore of a policy from before fail2ban's
// jail, a deleted rule) must not leave it silently.
func (e *Engine) sayUnusedSets(rs rules.Ruleset) {
	names, err := e.Store.SetNames()
	if err != nil {
		fmt.Fprintln(e.Out, "warning:", err)
		return
	}
	used := plan.SetNames(rs)
	for _, n := range names {
		if slices.Contains(used, n) {
			continue
		}
		entries, _, err := e.Store.LoadSet(n)
		switch {
		case err != nil:
			fmt.Fprintln(e.Out, "warning:", err)
		case len(entries) > 0:
			fmt.Fprintf(e.Out, "note: set %s holds %d entries and no rule names it: they are neither kept away nor let in "+
				"(deny from @%s, or `set del %s` when it is no longer needed)\n", n, len(entries), n, n)
		}
	}
}

// newSets gives every set rs names that the state lacks an empty file, and
// says so: a rule may name a set before it is filled (fail2ban's action
// does so when it starts).
func (e *Engine) newSets(rs rules.Ruleset) error {
	for _, name := range plan.SetNames(rs) {
		if ok, err := e.Store.HasSet(name); err != nil || ok {
			if err != nil {
				return err
			}
			continue
		}
		if err := e.Store.SaveSet(name, nil); err != nil {
			return err
		}
		fmt.Fprintf(e.Out, "set %s is new and empty: fill it with `ufw-docker-bridge set add|load %s`\n", name, name)
	}
	return nil
}

// setRules is the text of the rules of rs that name a set.
func setRules(rs rules.Ruleset) string {
	var b strings.Builder
	for _, r := range rs {
		if r.Set != "" {
			b.WriteString(r.String() + "\n")
		}
	}
	return b.String()
}

// restoreTables puts the guard (with its sets) and the NAT table back for
// rs (as the kernel gets them: forwards found) after a failed removal: a
// failed uninstall leaves the host as protected as before.
func (e *Engine) restoreTables(ctx context.Context, rs rules.Ruleset, dockerBridges []string) error {
	changed, err := e.Guard.Ensure(ctx, rs.Bridges(), dockerBridges)
	if err == nil {
		err = e.Guard.Published(ctx, changed)
	}
	_, natErr := e.NAT.Ensure(ctx, rs.Bridges(), plan.Forwards(rs))
	return errors.Join(err, natErr)
}

// restoreZones puts firewalld's zone and policy of ours back for rs after a
// failed removal that had taken them out (next to firewalld only).
func (e *Engine) restoreZones(rs rules.Ruleset) error {
	if e.Zones == nil {
		return nil
	}
	_, err := e.Zones.Ensure(rs.Bridges())
	return err
}

// natChanged says the NAT table may need a change: the bridge rules
// changed, or a forward is or was there (its guest's address may have
// moved since).
func natChanged(mode backend.Mode, old, rs rules.Ruleset) bool {
	return bridgesChanged(mode, old, rs) || len(old.Of(rules.Forward))+len(rs.Of(rules.Forward)) > 0
}

// bridgesChanged reports whether NAT and firewalld's zones may change:
// install, or a change of the bridge rules (allow and deny touch neither).
func bridgesChanged(mode backend.Mode, old, rs rules.Ruleset) bool {
	return mode == backend.Install || fmt.Sprint(rs.Bridges()) != fmt.Sprint(old.Bridges())
}

// ensureZones puts firewalld's zone and policy of ours in place for rs, when
// next to firewalld, installed (or installing) and asked to, before any
// iptables work: a reload flushes iptables. It returns what undoes it.
func (e *Engine) ensureZones(ctx context.Context, mode backend.Mode, old, rs rules.Ruleset, asked bool) (undo func() error, err error) {
	undo = func() error { return nil }
	if e.Zones == nil || !asked || mode == backend.Remove {
		return undo, nil
	}
	inst, err := e.Backend.Installed()
	if err != nil {
		return undo, err
	}
	wasInstalled := inst[rules.IPv4] || inst[rules.IPv6]
	if mode != backend.Install && !wasInstalled {
		return undo, nil
	}
	before := e.dockerBridges(ctx)
	changed, err := e.Zones.Ensure(rs.Bridges())
	for _, m := range changed {
		fmt.Fprintln(e.Out, m)
	}
	if err != nil || len(changed) == 0 {
		return undo, err
	}
	e.settle(ctx, before)
	if !wasInstalled {
		return func() error { _, err := e.Zones.Remove(); return err }, nil
	}
	return func() error { _, err := e.Zones.Ensure(old.Bridges()); return err }, nil
}

func (e *Engine) printDryRun(ctx context.Context, c *backend.Change, mode backend.Mode, old, rs rules.Ruleset, stateChanged bool) error {
	fmt.Fprintln(e.Out, "dry run: nothing was changed")
	if stateChanged {
		fmt.Fprintf(e.Out, "--- %s\n+++ %s (new)\n%s", e.Store.RulesPath(), e.Store.RulesPath(),
			textdiff.Unified(state.Format(old), state.Format(rs), 2))
	}
	for _, fc := range c.Files {
		fmt.Fprintf(e.Out, "--- %s\n+++ %s (new)\n%s", fc.Path, fc.Path, textdiff.Unified(fc.Old, fc.New, 2))
	}
	for _, rt := range c.Runtime {
		fmt.Fprintf(e.Out, "live %s: iptables-restore --noflush <<EOF\n%sEOF\n", rt.Family, rt.Input)
	}
	switch mode {
	case backend.Install:
		script, _ := plan.Guard(rs.Bridges(), c.DockerBridges)
		fmt.Fprintf(e.Out, "guard: nft -f - <<EOF\n%sEOF\n", script)
	case backend.Remove:
		fmt.Fprintf(e.Out, "guard: nft -f - <<EOF\n%sEOF\n", plan.GuardRemoval())
		fmt.Fprintf(e.Out, "nat: nft -f - <<EOF\n%sEOF\n", plan.NATRemoval())
		return nil
	}
	if e.Zones != nil {
		fmt.Fprintln(e.Out, "firewalld: zone "+rules.FirewalldZone+" and policy "+rules.FirewalldPolicy+" are written (and firewalld reloaded) when they differ")
	}
	if len(c.Families) == 0 || !natChanged(mode, old, rs) {
		return nil
	}
	script, err := e.NAT.Script(ctx, rs.Bridges(), plan.Forwards(e.Live(ctx, rs)))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "nat: nft -f - <<EOF\n%sEOF\n", script)
	return nil
}

// Sync is one verify-and-repair pass: it compares the live rules of every
// installed family with the state and repairs only what drifted, in one
// restore per family, re-renders file blocks that no longer match the state,
// and puts the guard back if it is missing or old, the three at once. It
// returns what it repaired; nothing when live equals desired.
func (e *Engine) Sync(ctx context.Context) ([]string, error) {
	unlock, err := state.Lock(e.LockPath)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rs, err := e.load(true)
	if err != nil {
		return nil, err
	}
	// The rules as the kernel and the files get them; the sets and the
	// guard read the rules as written.
	written := rs
	rs = e.Live(ctx, rs)
	healed, installed, err := e.heal(ctx, rs)
	if err != nil || !installed {
		return healed, err
	}
	// The live rules, the files and the guard are independent: repair them
	// at once.
	var zones []string
	var zoneErr error
	if e.Zones != nil {
		// Before the rest: a reload of ours flushes iptables. Docker's
		// bridges before it are the last pass's, read now on the first.
		before := e.bridgesSeen
		if !e.passed {
			before = e.dockerBridges(ctx)
		}
		if zones, zoneErr = e.Zones.Ensure(rs.Bridges()); len(zones) > 0 {
			e.settle(ctx, before)
			defer func() { e.Backend.Known = nil }()
		}
	}
	var files, nat []string
	var changed, setsChanged bool
	var fileErr, guardErr, natErr, setsErr error
	var wg sync.WaitGroup
	wg.Add(4)
	// One look at Docker's firewall mode serves the files and the rules.
	modes := e.Backend.DockerModes()
	// The first pass of a process (a sync command, the watcher's start) has
	// no clobber to race: it reads Docker's bridges first, and fills the
	// guard's sets beside the repair.
	first := !e.passed
	e.passed = true
	if first {
		// A read that fails leaves the patterns; the repair says why.
		e.bridgesSeen, _ = e.Backend.DockerBridges(ctx)
	}
	// The files and the guard start from Docker's bridges as the last pass
	// saw them; the repair reads them afresh, and where they changed (a
	// network with a bridge name of its own), both are done again below.
	bridges := e.bridgesSeen
	go func() { defer wg.Done(); files, fileErr = e.Backend.RepairFiles(rs, modes, bridges) }()
	go func() {
		defer wg.Done()
		if changed, guardErr = e.Guard.Ensure(ctx, rs.Bridges(), bridges); guardErr == nil && first {
			guardErr = e.Guard.Published(ctx, changed)
		}
	}()
	go func() { defer wg.Done(); nat, natErr = e.NAT.Ensure(ctx, rs.Bridges(), plan.Forwards(rs)) }()
	go func() { defer wg.Done(); setsChanged, setsErr = e.syncSets(ctx, written, rs, bridges) }()
	repaired, seen, err := e.Backend.Repair(ctx, rs, modes)
	wg.Wait()
	// rebuilt says the guard was made again for new bridges (its sets empty).
	rebuilt := false
	if err == nil && !slices.Equal(seen.Bridges, bridges) {
		e.bridgesSeen = seen.Bridges
		more, ferr := e.Backend.RepairFiles(rs, modes, seen.Bridges)
		files, fileErr = append(files, more...), errors.Join(fileErr, ferr)
		if guardErr == nil {
			rebuilt, guardErr = e.Guard.Ensure(ctx, rs.Bridges(), seen.Bridges)
			changed = changed || rebuilt
		}
		if setsErr == nil {
			again, err := e.syncSets(ctx, written, rs, seen.Bridges)
			setsChanged, setsErr = setsChanged || again, err
		}
	}
	docker := seen.Docker
	// Later passes refresh the sets after the repair, not beside it (it
	// reads the nat table, and the repair is what a clobber waits for), and
	// only when Docker's published ports may have changed: its filter DOCKER
	// chain (one rule per port) changed in this pass or the one before
	// (Docker writes its nat and filter rules one after the other), or the
	// guard is new.
	stale := !first && (changed || docker != e.dockerSeen || e.dockerChanged)
	e.dockerChanged = docker != e.dockerSeen && !first
	e.dockerSeen = docker
	if guardErr == nil && (stale || rebuilt) {
		guardErr = e.Guard.Published(ctx, changed)
	}
	repaired = append(append(append(append(healed, zones...), repaired...), files...), nat...)
	if changed {
		repaired = append(repaired, "guard: nftables table inet "+rules.GuardTable+" missing or changed")
	}
	if setsChanged {
		repaired = append(repaired, "sets: nftables table inet "+rules.SetsTable+" missing or changed")
	}
	if setsErr == nil {
		var reloaded []string
		reloaded, setsErr = e.reloadEdited()
		repaired = append(repaired, reloaded...)
	}
	// A firewalld that is not running cannot be repaired, and what it
	// loads at its start is checked by the pass its start triggers: the
	// pass repaired what it owns, and says what it could not reach.
	var unreachable interface{ Unreachable() bool }
	if errors.As(zoneErr, &unreachable) && unreachable.Unreachable() {
		fmt.Fprintln(e.Out, "not reached:", zoneErr)
		zoneErr = nil
	}
	return repaired, errors.Join(zoneErr, err, fileErr, guardErr, natErr, setsErr)
}

// dockerBridges reads Docker's bridges from the live rules; a failed read
// gives none (the read that follows reports it).
func (e *Engine) dockerBridges(ctx context.Context) []string {
	out, _ := e.Backend.DockerBridges(ctx)
	return out
}

// settle waits after a firewalld reload of ours until Docker has put its
// rules back: the live rules name again every bridge that they named before
// the reload, and Docker's chains read the same settleLooks times
// settlePoll apart (it inserts rules above FORWARD's jump to DOCKER-USER
// while it works); at least reloadSettle, at most settleMax. Then, for the
// rest of the command, those bridges count as Docker's whatever the live
// rules say (backend.Backend.Known), so that a Docker slower than settleMax
// leaves no bridge of its uncovered.
func (e *Engine) settle(ctx context.Context, before []string) {
	time.Sleep(reloadSettle)
	last, same := "", 0
	for deadline := time.Now().Add(settleMax); time.Now().Before(deadline); time.Sleep(settlePoll) {
		live, writes, err := e.Backend.DockerWrites(ctx)
		back := !slices.ContainsFunc(before, func(b string) bool { return !slices.Contains(live, b) })
		if err == nil && writes == last {
			same++
		} else {
			same = 1
		}
		if back && same >= settleLooks {
			break
		}
		last = writes
	}
	e.Backend.Known = before
}
