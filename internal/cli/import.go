package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/atomicfile"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/ufw"
)

func importCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "take over chaifeng/ufw-docker's setup: its route rules become rules by container name (or host port), its trusted sources allow rules; its block and rules go once ours are live",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Required: true, Usage: "the tool whose setup to take over: ufw-docker"},
			dryRunFlag,
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			if c.String("from") != "ufw-docker" {
				return usagef("unknown --from %q (want ufw-docker)", c.String("from"))
			}
			if err := needRoot(c); err != nil {
				return err
			}
			return importUFWDocker(c, deps, c.Bool("dry-run"))
		},
	}
}

// importUFWDocker reads ufw-docker's blocks in after.rules and after6.rules
// and its route rules, installs ours with the rules that keep open what it
// opened, then takes its blocks out of the files (every other byte kept),
// deletes its route rules with ufw, and its rules and chains from the live
// tables.
func importUFWDocker(c *cli.Context, deps Deps, dryRun bool) error {
	dir := c.String("ufw-dir")
	files := map[string]bool{} // the files that hold its block
	var blocks []string
	for _, name := range []string{"after.rules", "after6.rules"} {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if _, block, ok := plan.CutUFWDockerBlock(string(data)); ok {
			files[path], blocks = true, append(blocks, block)
		}
	}
	routes, err := ufw.RouteRules(dir)
	if err != nil {
		return err
	}
	var tuples []plan.RouteTuple
	for _, r := range routes {
		if r.Action == "allow" {
			tuples = append(tuples, plan.RouteTuple{Proto: r.Proto, DPort: r.DPort, Dst: r.Dst, Src: r.Src, Comment: r.Comment})
		}
	}
	cs, err := deps.Docker.Containers(c.Context)
	if err != nil {
		return cli.Exit("import needs Docker's API to tell its containers: "+err.Error()+"; nothing changed", ExitFailure)
	}
	im := plan.ImportUFWDocker(blocks, tuples, resolver(cs))
	if len(blocks) == 0 && len(im.Routes) == 0 {
		return cli.Exit("no ufw-docker setup here: no "+rules.UFWDockerBegin+" block in "+dir+"/after*.rules and no route rule of its; nothing changed", ExitFailure)
	}
	w := c.App.Writer
	for _, r := range im.Rules {
		fmt.Fprintln(w, "add: "+r.String())
	}
	for path := range files {
		fmt.Fprintf(w, "remove: ufw-docker's block from %s\n", path)
	}
	for _, rt := range im.Routes {
		fmt.Fprintf(w, "remove: ufw route allow %s (%q)\n", strings.Join(routeSpec(rt), " "), rt.Comment)
	}
	for _, n := range im.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	if dryRun {
		fmt.Fprintln(w, "dry run: nothing changed")
		return nil
	}
	e := installed(c, deps)
	if err := e.InstallWith(c.Context, func(rs rules.Ruleset) (rules.Ruleset, string, error) {
		for _, r := range im.Rules {
			rs, _ = rs.Add(r)
		}
		return rs, fmt.Sprintf("installed, with %d rules from ufw-docker", len(im.Rules)), nil
	}, false); err != nil {
		return err
	}
	// Ours are live: theirs go, under the lock every writer takes (a
	// watcher's pass waits), each step's failure said. The files are read
	// again (install wrote our block into them), under UFW's lock, as our
	// other writes are.
	if err := e.Locked(func() error { return removeUFWDocker(c, deps, files, im) }); err != nil {
		return err
	}
	repaired, err := e.Sync(c.Context)
	for _, r := range repaired {
		fmt.Fprintln(w, "repaired: "+r)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "imported from ufw-docker")
	return nil
}

// removeUFWDocker takes ufw-docker's blocks out of the files, its route
// rules out of UFW and its rules and chains out of the live tables (each
// family's that holds them).
func removeUFWDocker(c *cli.Context, deps Deps, files map[string]bool, im plan.UFWDockerImport) error {
	if err := cutBlocks(files); err != nil {
		return err
	}
	for _, rt := range im.Routes {
		if out, err := deps.Runner.Run(c.Context, "ufw", append([]string{"route", "delete", "allow"}, routeSpec(rt)...), nil); err != nil {
			return fmt.Errorf("deleting ufw-docker's route rule %q: %w: %s", rt.Comment, err, out)
		}
	}
	for _, ipt := range []string{"iptables", "ip6tables"} {
		run := func(args ...string) error {
			_, err := deps.Runner.Run(c.Context, ipt, append([]string{"-w"}, args...), nil)
			return err
		}
		for _, spec := range im.DockerUser {
			// A rule that is not there (the other family, or gone) is fine.
			if run(append([]string{"-C", rules.ChainDockerUser}, rules.Words(spec)...)...) != nil {
				continue
			}
			if err := run(append([]string{"-D", rules.ChainDockerUser}, rules.Words(spec)...)...); err != nil {
				return fmt.Errorf("deleting ufw-docker's rule %q from %s (%s): %w", spec, rules.ChainDockerUser, ipt, err)
			}
		}
		for _, chain := range im.Chains {
			if run("-S", chain) != nil {
				continue // not in this family
			}
			if err := errors.Join(run("-F", chain), run("-X", chain)); err != nil {
				return fmt.Errorf("removing ufw-docker's chain %s (%s): %w", chain, ipt, err)
			}
		}
	}
	return nil
}

// cutBlocks takes ufw-docker's block out of each of the files, as they are
// now, every other byte kept, holding UFW's lock.
func cutBlocks(files map[string]bool) error {
	release, err := ufw.Hold(ufw.LockPath)
	if err != nil {
		return err
	}
	defer release()
	for path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		rest, _, ok := plan.CutUFWDockerBlock(string(data))
		if !ok {
			continue
		}
		if err := atomicfile.Write(path, []byte(rest), st.Mode().Perm()); err != nil {
			return fmt.Errorf("taking ufw-docker's block out of %s: %w", path, err)
		}
	}
	return nil
}

// routeSpec is a route tuple as `ufw route` takes it.
func routeSpec(rt plan.RouteTuple) []string {
	return ufw.RouteRule{Proto: rt.Proto, DPort: rt.DPort, Dst: rt.Dst, SPort: "any", Src: rt.Src}.Spec()
}

// resolver answers plan.ImportUFWDocker from Docker's containers: a name
// that runs, or the host port Docker publishes for an address and port.
func resolver(cs []docker.Container) plan.Resolver {
	return func(name string, ip netip.Addr, port uint16, proto string) (bool, uint16, bool) {
		for _, c := range cs {
			if c.Name() == name {
				return true, 0, true
			}
		}
		for _, c := range cs {
			for _, n := range c.NetworkSettings.Networks {
				if n.IPAddress != ip.String() {
					continue
				}
				for _, p := range c.Ports {
					if p.PrivatePort == port && p.Type == proto && p.PublicPort != 0 {
						return false, p.PublicPort, true
					}
				}
			}
		}
		return false, 0, false
	}
}
