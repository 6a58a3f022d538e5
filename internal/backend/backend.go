// Package backend keeps our managed block in a rules file per family and
// the live ruleset in step with it, for every firewall we sit next to (its
// plan.Profile says which files): UFW's after.rules and after6.rules, which
// UFW loads on every start and reload, or files of our own in the state
// directory next to firewalld and plain iptables. It prepares and validates
// a change, commits it with rollback, verifies and repairs.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/atomicfile"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/block"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/ufw"
)

// Netfilter is what the backend needs of iptables: atomic restores and saves.
// iptables.Tables implements it; tests may fake it.
type Netfilter interface {
	Restore(ctx context.Context, f rules.Family, input string, test bool) error
	Save(ctx context.Context, f rules.Family, table string) (*rules.Table, error)
}

// What a Netfilter restore does with its input.
const (
	apply     = false // applies it
	checkOnly = true  // checks it (iptables-restore --test), changing nothing
)

// Mode says what Prepare does with the managed blocks.
type Mode int

const (
	// Update re-renders the blocks that are installed and leaves the rest.
	Update Mode = iota
	// Install writes the blocks (or re-renders them) in every file.
	Install
	// Remove takes the blocks out of every file and our rules out of the kernel.
	Remove
)

// Backend keeps our blocks in a rules file per family and the live ruleset
// in step. Next to UFW the files are UFW's after*.rules, which UFW loads on
// every start and reload; next to firewalld they are files of our own in
// the state directory (firewalld.rules, firewalld6.rules; iptables.rules and
// iptables6.rules on a host with neither, which our unit loads at boot with
// iptables-restore --noflush), which say that we are installed and hold what
// the watcher and the hooks restore.
type Backend struct {
	// Dir holds the files: UFW's configuration directory (/etc/ufw), or the
	// state directory.
	Dir string
	// Firewall is the host firewall; the zero value is UFW.
	Firewall plan.Firewall
	Net      Netfilter
	// BackupDir receives the previous version of each file we rewrite.
	BackupDir string
	// Source names the state file in the blocks' header.
	Source string
	// DockerNFT reports, per family, whether Docker runs its nftables
	// firewall backend there (nft.DockerNFT); nil means it never does.
	DockerNFT func() (map[rules.Family]bool, error)
	// DockerNFTChains lists the chains of Docker's nftables tables
	// (nft.DockerNFTChains), which name its bridges under that backend;
	// nil means there are none.
	DockerNFTChains func() ([]string, error)
	// DockerAPI is the Docker Engine API (docker.Client); nil asks nothing.
	// The bridges of Docker's networks count as Docker's with those its
	// rules name.
	DockerAPI docker.API
	// Known are bridges an earlier read found Docker's (before a firewalld
	// reload of ours, which takes Docker's rules away until Docker puts
	// them back): they count as Docker's even where the live rules do not
	// name them yet. A bridge gone since costs a rule that matches nothing;
	// one missed would leave its published ports open.
	Known []string
	// Unmanaged are the families left alone here, with why: IPv6 where UFW
	// runs with IPV6=no (it loads no after6.rules and drops every IPv6
	// packet but loopback's), or where ip6tables cannot run. Nothing of
	// theirs is read or written, and no drift is seen in them.
	Unmanaged map[rules.Family]string
	// KeepDir receives a whole file whose block was edited by hand, before
	// the block is rendered again (the journal); Warn says so.
	KeepDir string
	Warn    func(string)
	// UFWLock is UFW's own lock (LockPath) next to UFW, "" elsewhere: Commit
	// holds it around its writes, which keeps every ufw command (ufw reload
	// above all) from loading after.rules half-way through them.
	UFWLock string
}

// Managed returns the families we manage here, in order.
func (b *Backend) Managed() []rules.Family {
	var out []rules.Family
	for _, f := range rules.Families {
		if _, off := b.Unmanaged[f]; !off {
			out = append(out, f)
		}
	}
	return out
}

// dockerBridges returns Docker's bridges: those its iptables rules in lives
// name, and, where it runs its nftables backend (modes), those its
// nftables table has chains for. A table that cannot be read is an error:
// a bridge with a name of its own would go uncovered.
func (b *Backend) dockerBridges(ctx context.Context, lives []*rules.Table, modes map[rules.Family]bool) ([]string, error) {
	out := append(plan.DockerBridges(lives...), b.Known...)
	if b.DockerAPI != nil {
		// What the API says adds to what the rules say: between a firewalld
		// reload and Docker's putting its rules back, only the API names a
		// network's bridge. A dockerd that does not answer (stopped, hung)
		// leaves the rules' word.
		if api, err := docker.Bridges(ctx, b.DockerAPI); err == nil {
			out = append(out, api...)
		}
	}
	if b.DockerNFTChains != nil && (modes[rules.IPv4] || modes[rules.IPv6]) {
		chains, err := b.DockerNFTChains()
		if err != nil {
			return nil, fmt.Errorf("reading Docker's nftables chains: %w", err)
		}
		out = append(out, plan.DockerNFTBridges(chains)...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// DockerModes says, per family, whether Docker runs its nftables backend
// (asking DockerNFT). A host whose nftables cannot be read has no Docker on
// its nftables backend either, and "no" fails closed: Docker's containers
// then get nothing accepted by us. A pass asks once and hands the answer to
// Repair and RepairFiles.
func (b *Backend) DockerModes() map[rules.Family]bool {
	if b.DockerNFT == nil {
		return map[rules.Family]bool{}
	}
	m, err := b.DockerNFT()
	if err != nil {
		return map[rules.Family]bool{}
	}
	return m
}

// Path returns the rules file of family f (the profile's Files).
func (b *Backend) Path(f rules.Family) string {
	name := b.Firewall.Profile().Files
	if f == rules.IPv6 {
		name += "6"
	}
	return filepath.Join(b.Dir, name+".rules")
}

// ownFiles reports whether the files are ours (created on install, deleted
// on uninstall) rather than the firewall's.
func (b *Backend) ownFiles() bool { return b.Firewall.Profile().OwnFiles }

// FileChange is a new content for one file.
type FileChange struct {
	Family   rules.Family
	Path     string
	Old, New string
}

// RuntimeChange is one atomic restore and the restore that undoes it.
type RuntimeChange struct {
	Family          rules.Family
	Input, Rollback string
}

// Change is everything one command changes, prepared and validated before
// anything is touched.
type Change struct {
	// Families are the families the change covers: every family for
	// install and uninstall, the installed ones for an update.
	Families []rules.Family
	Files    []FileChange
	Runtime  []RuntimeChange
	// DockerBridges are Docker's bridges in the live rules read
	// (plan.DockerBridges): the guard covers them too.
	DockerBridges []string
}

// Installed reports, per family, whether the block is in the file. A file
// with damaged markers is an error.
func (b *Backend) Installed() (map[rules.Family]bool, error) {
	out := map[rules.Family]bool{}
	for _, f := range b.Managed() {
		data, err := os.ReadFile(b.Path(f))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", b.Path(f), err)
		}
		if out[f], err = block.Has(string(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Path(f), err)
		}
	}
	return out, nil
}

// Prepare computes and validates the change that brings files and kernel to
// rule set rs under mode, touching nothing. New file contents are checked
// with iptables-restore --test.
func (b *Backend) Prepare(ctx context.Context, rs rules.Ruleset, mode Mode) (*Change, error) {
	olds := map[rules.Family]string{}
	var fams []rules.Family
	for _, f := range b.Managed() {
		path := b.Path(f)
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && b.ownFiles() && mode == Install:
			// Our own file: install creates it.
		case errors.Is(err, fs.ErrNotExist) && (mode == Update || b.ownFiles()):
			continue
		case err != nil:
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		has, err := block.Has(string(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w (fix the markers by hand; the file was not changed)", path, err)
		}
		if mode == Update && !has {
			continue
		}
		// A block rendered from another state directory's rules is another
		// installation's policy: replacing it with ours (a stray
		// --state-dir, a relative path) would drop its rules, deny rules
		// included. uninstall may still take it out.
		if src := block.Source(string(data)); mode != Remove && src != "" && b.Source != "" && src != b.Source {
			return nil, fmt.Errorf("the block in %s was rendered from %s, not from %s: refusing to replace that policy "+
				"(use its state directory, or uninstall first)", path, src, b.Source)
		}
		olds[f] = string(data)
		fams = append(fams, f)
	}
	lives, err := b.saveFilters(ctx, fams)
	if err != nil {
		return nil, err
	}
	dockerNFT := b.DockerModes()
	c := &Change{Families: fams}
	if c.DockerBridges, err = b.dockerBridges(ctx, tables(lives), dockerNFT); err != nil {
		return nil, err
	}
	for _, f := range fams {
		path, old, live := b.Path(f), olds[f], lives[f]
		var updated, input string
		if mode == Remove {
			if updated, err = block.Remove(old); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			input = plan.Removal(live, f)
		} else {
			if updated, err = b.render(old, f, rs, dockerNFT[f], c.DockerBridges); err != nil {
				return nil, err
			}
			in := plan.Input{Family: f, Rules: rs, DeclareUFWForward: live.Chain(f.UFWUserForward()) == nil, Firewall: b.Firewall,
				DockerNFT: dockerNFT[f], DockerBridges: c.DockerBridges}
			// allow/deny/delete edit our chains in place when they are
			// there; install writes them anew.
			how := plan.Refill
			if mode == Update {
				how = plan.EditInPlace
			}
			input = plan.Restore(in, live, how, plan.KeepJumps)
		}
		if updated != old {
			// install and uninstall check the whole new file. allow/deny/delete
			// change only rule lines inside our block, and Commit applies those
			// very lines live before any file is written: a restore that fails
			// changes nothing and stops the command, so a --test pass would
			// only add a process to the hot path.
			if mode != Update {
				if err := b.Net.Restore(ctx, f, updated, checkOnly); err != nil {
					return nil, fmt.Errorf("validating new %s: %w", path, err)
				}
			}
			c.Files = append(c.Files, FileChange{Family: f, Path: path, Old: old, New: updated})
		}
		if input != "" {
			c.Runtime = append(c.Runtime, RuntimeChange{Family: f, Input: input, Rollback: plan.Snapshot(live, f)})
		}
	}
	return c, nil
}

// Commit applies c: the live rules first, each family in one atomic restore
// (the families at once), then the files, each replaced atomically after its
// backup. On failure what was done is undone, and the error says what
// failed. The returned undo puts everything back (for a caller whose own
// later step fails).
func (b *Backend) Commit(ctx context.Context, c *Change) (undo func() error, err error) {
	if b.UFWLock != "" && (len(c.Runtime) > 0 || len(c.Files) > 0) {
		release, err := ufw.Hold(b.UFWLock)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	var applied []RuntimeChange
	undoRuntime := func() error {
		errs := each(applied, func(rt RuntimeChange) error {
			if err := b.Net.Restore(ctx, rt.Family, rt.Rollback, apply); err != nil {
				return fmt.Errorf("rolling back live %s rules: %w", rt.Family, err)
			}
			return nil
		})
		return errors.Join(errs...)
	}
	errs := each(c.Runtime, func(rt RuntimeChange) error {
		if err := b.Net.Restore(ctx, rt.Family, rt.Input, apply); err != nil {
			return fmt.Errorf("applying live %s rules: %w", rt.Family, err)
		}
		return nil
	})
	for i, err := range errs {
		if err == nil {
			applied = append(applied, c.Runtime[i])
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, undoRuntime())
	}
	var written []FileChange
	undoFiles := func() error {
		errs := each(written, func(fc FileChange) error {
			if err := atomicfile.Write(fc.Path, []byte(fc.Old), 0o640); err != nil {
				return fmt.Errorf("restoring %s: %w", fc.Path, err)
			}
			return nil
		})
		return errors.Join(errs...)
	}
	errs = each(c.Files, b.replace)
	for i, err := range errs {
		if err == nil {
			written = append(written, c.Files[i])
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, undoFiles(), undoRuntime())
	}
	return func() error { return errors.Join(undoFiles(), undoRuntime()) }, nil
}

// render returns old with our block rendered from rs for family f in place
// of the block it has, or appended (dockerNFT: Docker's nftables backend;
// dockerBridges: plan.DockerBridges).
func (b *Backend) render(old string, f rules.Family, rs rules.Ruleset, dockerNFT bool, dockerBridges []string) (string, error) {
	updated, err := block.Insert(old, plan.Block(plan.File(f, rs, b.Firewall, dockerNFT, dockerBridges), f, b.Source))
	if err != nil {
		return "", fmt.Errorf("%s: %w", b.Path(f), err)
	}
	return updated, nil
}

// replace backs up fc.Old and writes fc.New atomically; a file of our own
// left empty is deleted.
func (b *Backend) replace(fc FileChange) error {
	if err := b.backup(fc); err != nil {
		return err
	}
	if err := b.keepEdit(fc); err != nil {
		return err
	}
	if fc.New == "" && b.ownFiles() {
		if err := os.Remove(fc.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", fc.Path, err)
		}
		return nil
	}
	if err := atomicfile.Write(fc.Path, []byte(fc.New), 0o640); err != nil {
		return fmt.Errorf("writing %s: %w", fc.Path, err)
	}
	return nil
}

// keepEdit keeps fc.Old in KeepDir, and says where, when its block was
// edited by hand: the edit is never dropped without a word, and the one
// backup slot does not hold it for long.
func (b *Backend) keepEdit(fc FileChange) error {
	first, last, edited := block.Edited(fc.Old)
	if !edited || b.KeepDir == "" {
		return nil
	}
	if err := os.MkdirAll(b.KeepDir, 0o755); err != nil {
		return fmt.Errorf("keeping the edited %s: %w", fc.Path, err)
	}
	kept := filepath.Join(b.KeepDir, "edited-"+time.Now().UTC().Format("20060102T150405.000000000Z")+"-"+filepath.Base(fc.Path))
	if err := atomicfile.Write(kept, []byte(fc.Old), 0o600); err != nil {
		return fmt.Errorf("keeping the edited %s: %w", fc.Path, err)
	}
	if b.Warn != nil {
		b.Warn(fmt.Sprintf("%s lines %d-%d: our block was edited by hand; the edited file is kept as %s, and the block is "+
			"rendered from the rules again (keep such a rule as a rule of ours, or outside the markers)", fc.Path, first, last, kept))
	}
	return nil
}

func (b *Backend) backup(fc FileChange) error {
	if b.BackupDir == "" {
		return nil
	}
	// The parent (the state directory) stays readable, the backups do not.
	if err := os.MkdirAll(filepath.Dir(b.BackupDir), 0o755); err != nil {
		return fmt.Errorf("creating backup directory: %w", err)
	}
	if err := os.MkdirAll(b.BackupDir, 0o700); err != nil {
		return fmt.Errorf("creating backup directory: %w", err)
	}
	dst := filepath.Join(b.BackupDir, filepath.Base(fc.Path))
	if err := atomicfile.Write(dst, []byte(fc.Old), 0o600); err != nil {
		return fmt.Errorf("backing up %s: %w", fc.Path, err)
	}
	return nil
}
