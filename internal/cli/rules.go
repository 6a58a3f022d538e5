package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/engine"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// ruleArgs returns the positional arguments with --dry-run taken out
// wherever it stands, since a rule reads best with the flag at the end.
func ruleArgs(c *cli.Context) (words []string, dryRun bool) {
	dryRun = c.Bool("dry-run")
	for _, a := range c.Args().Slice() {
		if a == "--dry-run" {
			dryRun = true
			continue
		}
		words = append(words, a)
	}
	if c.Bool("host-too") {
		words = append(words, rules.HostTooWord)
	}
	return words, dryRun
}

func ruleCommand(deps Deps, a rules.Action) *cli.Command {
	usage, args := "open published host ports: PORT[:PORT][/tcp|/udp] [from CIDR|ADDR|@SET|any], or a container's: [PORT[/proto]] to NAME [from SRC]",
		"[PORT[:PORT][/tcp|/udp]] [to CONTAINER|SERVICE|PROJECT/SERVICE] [from CIDR|ADDR|@SET|any]"
	switch a {
	case rules.Deny:
		usage = "keep a source away from every container and guest: [PORT[:PORT][/tcp|/udp]] from CIDR|ADDR"
	case rules.Bridge:
		usage = "say how to treat a bridge: include (a guest bridge: forwarding, DHCP/DNS, NAT), exclude (leave it to its owner), nat-off"
		args = "NAME[+] include|exclude|nat-off"
	}
	flags := []cli.Flag{dryRunFlag}
	if a != rules.Bridge {
		flags = append(flags, &cli.BoolFlag{Name: "host-too", Usage: "cover the host's own services on these ports too (also accepted at the end of the rule)"},
			dockerConfigFlag())
	}
	return &cli.Command{
		Name:      string(a),
		Usage:     usage,
		ArgsUsage: args,
		Flags:     flags,
		Action: func(c *cli.Context) error {
			words, dryRun := ruleArgs(c)
			r, err := rules.Parse(append([]string{string(a)}, words...))
			if err != nil {
				return err
			}
			if err := needRoot(c); err != nil {
				return err
			}
			e := installed(c, deps)
			// A set's --host-too drops in our sets table's input hook, whatever the firewall.
			if r.HostToo && r.Set == "" && e.Backend.Firewall.Profile().Input == plan.NoInput {
				return cli.Exit("--host-too: next to firewalld the host's own ports are its zones' (firewall-cmd --add-port)", ExitFailure)
			}
			if err := honoured(c, r, e.Backend.Firewall); err != nil {
				return err
			}
			note := ""
			if r.Target != "" {
				// Accepted either way: it takes effect when the target publishes a port.
				cs, err := deps.Docker.Containers(c.Context)
				var tasks map[string]string
				if err == nil && strings.HasPrefix(r.Target, rules.ServicePrefix) {
					tasks, err = deps.Docker.ServiceTasks(c.Context)
				}
				switch {
				case err != nil:
					note = fmt.Sprintf("\nnote: Docker's API did not answer (%v): %s opens nothing until it does", err, r.Target)
				case len(plan.Expand(rules.Ruleset{r}, engine.Targets(cs, tasks))) == 0:
					note = fmt.Sprintf("\nnote: no container or service %s publishes such a port now: the rule takes effect when one does", r.Target)
				}
			}
			return e.Change(c.Context, func(rs rules.Ruleset) (rules.Ruleset, string, error) {
				out, added := rs.Add(r)
				if !added {
					return rs, "skipped: rule exists: " + r.String(), nil
				}
				return out, "added: " + r.String() + note, nil
			}, dryRun)
		},
	}
}

func deleteCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "remove a rule: delete allow|deny|forward|bridge ... or delete N (the number list shows)",
		ArgsUsage: "allow|deny|forward|bridge ... | N",
		Flags:     []cli.Flag{dryRunFlag},
		Action: func(c *cli.Context) error {
			words, dryRun := ruleArgs(c)
			if len(words) == 0 {
				return usagef("delete needs a rule or a rule number")
			}
			var m func(rules.Ruleset) (rules.Ruleset, string, error)
			if len(words) == 1 && !slices.Contains([]string{string(rules.Allow), string(rules.Deny), string(rules.Forward), string(rules.Bridge)}, words[0]) {
				n, err := number(words[0], "rule number")
				if err != nil {
					return err
				}
				m = func(rs rules.Ruleset) (rules.Ruleset, string, error) {
					out, err := rs.DeleteAt(n)
					if err != nil {
						return rs, "", err
					}
					return out, fmt.Sprintf("deleted: %s", rs[n-1]), nil
				}
			} else {
				r, err := rules.Parse(words)
				if err != nil {
					return err
				}
				m = func(rs rules.Ruleset) (rules.Ruleset, string, error) {
					out, err := rs.Delete(r)
					return out, "deleted: " + r.String(), err
				}
			}
			if err := needRoot(c); err != nil {
				return err
			}
			return installed(c, deps).Change(c.Context, m, dryRun)
		},
	}
}

// dockerConfigFlag names Docker's daemon.json.
func dockerConfigFlag() cli.Flag {
	return &cli.StringFlag{Name: "docker-config", Value: discover.DockerConfigPath, EnvVars: []string{"UFW_DOCKER_BRIDGE_DOCKER_CONFIG"}, Usage: "Docker's daemon.json"}
}

// honoured refuses an allow or deny rule that nothing of ours would apply:
// with Docker's firewall management off, a published port reaches the host
// through docker-proxy in INPUT, never through DOCKER-USER, so only a rule
// that also covers the host (--host-too, where our input chain exists)
// decides for it. What cannot be read is refused too (fail closed: never
// say "added" for a rule that may do nothing).
func honoured(c *cli.Context, r rules.Rule, fw plan.Firewall) error {
	if r.Action != rules.Allow && r.Action != rules.Deny || r.HostToo {
		return nil
	}
	off, evidence, err := discover.DockerFirewallOff(c.String("docker-config"), "/proc")
	if err != nil {
		return cli.Exit(fmt.Sprintf("cannot tell whether Docker manages its published ports: %v", err), ExitFailure)
	}
	if !off {
		return nil
	}
	instead := "add --host-too so that this rule decides in our input chain"
	if fw.Profile().Input == plan.NoInput {
		instead = "firewalld's zones decide (firewall-cmd --add-port)"
	}
	return cli.Exit(fmt.Sprintf("not added: Docker does not manage this host's published ports (%s): docker-proxy serves them through INPUT, where the host's own input rules decide; %s",
		evidence, instead), ExitFailure)
}

// number reads a positive number as list and history show them (what names
// it in the error: "rule number"); anything else is a usage error.
func number(word, what string) (int, error) {
	n, err := strconv.Atoi(word)
	if err != nil || n < 1 || strconv.Itoa(n) != word {
		return 0, usagef("invalid %s %q", what, word)
	}
	return n, nil
}
