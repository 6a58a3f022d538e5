package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/block"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Health is how the live ruleset of one family compares with the blocks.
type Health struct {
	Family rules.Family `json:"family"`
	// InSync is true when DOCKER-USER and our chain hold exactly the rules
	// the state renders, and so does the file's block when installed.
	InSync bool `json:"in_sync"`
	// Drift lists every difference, one line each.
	Drift []string `json:"drift,omitempty"`
	// ForwardJump is the position of FORWARD's jump to DOCKER-USER (1 is
	// right: nothing decides before it), 0 when Docker has not made it.
	ForwardJump int `json:"forward_jump"`
	// UFWLoaded is true when UFW's chains are in the kernel.
	UFWLoaded bool `json:"ufw_loaded"`
}

// Verify compares the live ruleset, and the installed blocks of the files,
// with what rule set rs renders. It also returns Docker's bridges as the
// live rules it read name them (plan.DockerBridges).
func (b *Backend) Verify(ctx context.Context, rs rules.Ruleset) ([]Health, []string, error) {
	var out []Health
	dockerNFT := b.DockerModes()
	lives, err := b.saveFilters(ctx, b.Managed())
	if err != nil {
		return nil, nil, err
	}
	docker, err := b.dockerBridges(ctx, tables(lives), dockerNFT)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range b.Managed() {
		live := lives[f]
		in := plan.Input{Family: f, Rules: rs, Firewall: b.Firewall, DockerNFT: dockerNFT[f], DockerBridges: docker}
		drift, _ := plan.Repair(in, live)
		stale, err := b.staleFile(f, rs, dockerNFT[f], docker)
		if err != nil {
			return nil, nil, err
		}
		if stale != nil {
			drift = append(drift, fmt.Sprintf("the block in %s differs from the rules: sync renders it again", stale.Path))
		}
		out = append(out, Health{
			Family:      f,
			InSync:      len(drift) == 0,
			Drift:       drift,
			ForwardJump: rules.JumpPosition(live, rules.ChainForwardBuiltin, rules.ChainDockerUser),
			UFWLoaded:   live.Chain(f.UFWUserForward()) != nil,
		})
	}
	return out, docker, nil
}

// DockerBridges returns Docker's bridges as its live rules of both families
// name them (dockerBridges).
func (b *Backend) DockerBridges(ctx context.Context) ([]string, error) {
	lives, err := b.saveFilters(ctx, b.Managed())
	if err != nil {
		return nil, err
	}
	return b.dockerBridges(ctx, tables(lives), b.DockerModes())
}

// DockerWrites returns the bridges Docker's rules name in the live filter
// tables of both families (plan.DockerBridges: its rules alone, not its
// API) and the text of the chains Docker writes there (FORWARD and its
// DOCKER chains, not DOCKER-USER): two equal reads in a row say Docker has
// stopped writing.
func (b *Backend) DockerWrites(ctx context.Context) ([]string, string, error) {
	lives, err := b.saveFilters(ctx, b.Managed())
	if err != nil {
		return nil, "", err
	}
	bridges := plan.DockerBridges(tables(lives)...)
	var text strings.Builder
	for _, t := range tables(lives) {
		for _, c := range t.Chains {
			if c.Name == rules.ChainForwardBuiltin || strings.HasPrefix(c.Name, "DOCKER") && c.Name != rules.ChainDockerUser {
				fmt.Fprintf(&text, ":%s\n%s\n", c.Name, strings.Join(c.Rules, "\n"))
			}
		}
	}
	return bridges, text.String(), nil
}

// Seen is what a repair read of Docker's live rules.
type Seen struct {
	// Docker is the text of Docker's filter DOCKER chain of IPv4: one rule
	// per published port, so it changes when they do.
	Docker string
	// Bridges are Docker's bridges (dockerBridges) of the installed
	// families.
	Bridges []string
}

// Repair brings the live rules of every installed family back to what rs
// renders, in one restore per family that drifted (the families at once),
// and returns what it repaired, one line each ("ipv4: ..."), and what it
// read of Docker's rules. Nothing is run when nothing drifted. dockerNFT is
// DockerModes.
func (b *Backend) Repair(ctx context.Context, rs rules.Ruleset, dockerNFT map[rules.Family]bool) (repairedLines []string, seen Seen, err error) {
	inst, err := b.Installed()
	if err != nil {
		return nil, seen, err
	}
	var fams []rules.Family
	for _, f := range rules.Families {
		if inst[f] {
			fams = append(fams, f)
		}
	}
	lives, err := b.saveFilters(ctx, fams)
	if err != nil {
		return nil, seen, err
	}
	if seen.Bridges, err = b.dockerBridges(ctx, tables(lives), dockerNFT); err != nil {
		return nil, seen, err
	}
	if c := lives[rules.IPv4].Chain("DOCKER"); c != nil {
		seen.Docker = strings.Join(c.Rules, "\n")
	}
	repaired := make([][]string, len(fams))
	errs := each(indexes(len(fams)), func(i int) error {
		f := fams[i]
		in := plan.Input{Family: f, Rules: rs, Firewall: b.Firewall, DockerNFT: dockerNFT[f], DockerBridges: seen.Bridges}
		drift, input := plan.Repair(in, lives[f])
		if input == "" {
			return nil
		}
		if err := b.Net.Restore(ctx, f, input, apply); err != nil {
			return fmt.Errorf("repairing live %s rules: %w", f, err)
		}
		for _, d := range drift {
			repaired[i] = append(repaired[i], f.String()+": "+d)
		}
		return nil
	})
	var out []string
	for _, r := range repaired {
		out = append(out, r...)
	}
	return out, seen, errors.Join(errs...)
}

// RepairFiles re-renders every installed block that no longer matches rs
// (a command killed between writing the files and the state leaves one
// behind, and so does a Docker bridge with a name of its own) and returns
// what it rewrote. dockerNFT is DockerModes, dockerBridges Seen.Bridges.
func (b *Backend) RepairFiles(rs rules.Ruleset, dockerNFT map[rules.Family]bool, dockerBridges []string) ([]string, error) {
	var repaired []string
	for _, f := range b.Managed() {
		fc, err := b.staleFile(f, rs, dockerNFT[f], dockerBridges)
		if err != nil {
			return repaired, err
		}
		if fc == nil {
			continue
		}
		if err := b.replace(*fc); err != nil {
			return repaired, err
		}
		repaired = append(repaired, fmt.Sprintf("%s: the block in %s re-rendered from the rules", f, fc.Path))
	}
	return repaired, nil
}

// staleFile returns the change that renders family f's installed block
// from rs, or nil when the file holds no block or the block is current.
func (b *Backend) staleFile(f rules.Family, rs rules.Ruleset, dockerNFT bool, dockerBridges []string) (*FileChange, error) {
	data, err := os.ReadFile(b.Path(f))
	if err != nil {
		return nil, nil // no file: not installed in this family
	}
	old := string(data)
	if ok, err := block.Has(old); err != nil || !ok {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Path(f), err)
		}
		return nil, nil
	}
	updated, err := b.render(old, f, rs, dockerNFT, dockerBridges)
	if err != nil || updated == old {
		return nil, err
	}
	return &FileChange{Family: f, Path: b.Path(f), Old: old, New: updated}, nil
}
