package cli

import (
	"errors"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func forwardCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name: string(rules.Forward),
		Usage: "forward a host port to a libvirt domain or an LXD/Incus instance (DNAT, and the way through): " +
			"HOSTPORT[/tcp|/udp] to GUEST[:PORT] [from CIDR|ADDR]",
		ArgsUsage: "HOSTPORT[/tcp|/udp] to [lxd:|incus:|libvirt:]GUEST[:PORT] [from CIDR|ADDR]",
		Flags:     []cli.Flag{dryRunFlag},
		Action: func(c *cli.Context) error {
			words, dryRun := ruleArgs(c)
			r, err := rules.Parse(append([]string{string(rules.Forward)}, words...))
			if err != nil {
				return err
			}
			if err := needRoot(c); err != nil {
				return err
			}
			e := installed(c, deps)
			if e.Backend.Firewall == plan.FirewallD {
				return cli.Exit("forward: next to firewalld, forward ports with firewalld's own forward ports (firewall-cmd --add-forward-port)", ExitFailure)
			}
			if err := publishedBy(c, deps, r); err != nil {
				return err
			}
			// A guest that is not there, or has no address, is accepted
			// (the engine says so in a note); one that two managers know,
			// or a manager that cannot answer, is refused.
			if _, err := deps.Guests.Addrs(c.Context, r.Target); err != nil && !errors.Is(err, discover.ErrNoGuest) {
				return usagef("%v", err)
			}
			return e.Change(c.Context, func(rs rules.Ruleset) (rules.Ruleset, string, error) {
				if rs.Index(r) >= 0 {
					// The same forward: at most its comment changes.
					if out, changed := rs.Add(r); changed {
						return out, "updated: " + r.String(), nil
					}
					return rs, "skipped: rule exists: " + r.String(), nil
				}
				if x, taken := rs.ForwardOf(r); taken {
					return rs, "", usagef("host port %s is forwarded already: %s (delete it first)", r.Ports, x)
				}
				out, _ := rs.Add(r)
				return out, "added: " + r.String(), nil
			}, dryRun)
		},
	}
}

// publishedBy refuses a forward of a host port that a container publishes
// now: that port stays Docker's (our DNAT comes after Docker's). Without an
// answer from Docker's API there is nothing to refuse on.
func publishedBy(c *cli.Context, deps Deps, r rules.Rule) error {
	cs, err := deps.Docker.Containers(c.Context)
	if err != nil {
		return nil
	}
	for _, ct := range cs {
		for _, p := range ct.Ports {
			if p.PublicPort == r.Ports.First && (r.Proto == rules.ProtoAny || strings.EqualFold(p.Type, string(r.Proto))) {
				return usagef("host port %d/%s is published by container %s: Docker's DNAT takes it first", p.PublicPort, p.Type, ct.Name())
			}
		}
	}
	return nil
}
