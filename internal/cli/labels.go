package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func labelRulesCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:      "label-rules",
		Usage:     "on: containers' " + rules.AllowLabel + " labels open their ports (whoever can start containers can then open ports); off (the default): labels are ignored",
		ArgsUsage: "on|off",
		Flags:     []cli.Flag{dryRunFlag},
		Action: func(c *cli.Context) error {
			words, dryRun := ruleArgs(c)
			if len(words) != 1 || words[0] != "on" && words[0] != "off" {
				return usagef("want: label-rules on|off")
			}
			if err := needRoot(c); err != nil {
				return err
			}
			on := rules.Rule{Action: rules.LabelRules}
			return installed(c, deps).Change(c.Context, func(rs rules.Ruleset) (rules.Ruleset, string, error) {
				if words[0] == "off" {
					if rs.Index(on) < 0 {
						return rs, "label rules: already off", nil
					}
					out, err := rs.Delete(on)
					return out, "label rules: off (containers' labels open nothing)", err
				}
				out, added := rs.Add(on)
				if !added {
					return rs, "label rules: already on", nil
				}
				return out, "label rules: on: a container's " + rules.AllowLabel + " label opens its ports; whoever can start containers can now open ports", nil
			}, dryRun)
		},
	}
}

func logRateCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name: "log-rate",
		Usage: "how many dropped connections a time our chains log (kernel log, prefixes " + rules.LogPrefix + "and " +
			rules.GuestLogPrefix + "): N/sec|min|hour|day, off, or default (" + rules.DefaultLogRate + ")",
		ArgsUsage: "N/sec|min|hour|day|off|default",
		Flags:     []cli.Flag{dryRunFlag},
		Action: func(c *cli.Context) error {
			words, dryRun := ruleArgs(c)
			if len(words) != 1 {
				return usagef("want: log-rate N/sec|min|hour|day|off|default")
			}
			var set *rules.Rule
			if words[0] != "default" {
				r, err := rules.Parse([]string{string(rules.LogRate), words[0]})
				if err != nil {
					return err
				}
				set = &r
			}
			if err := needRoot(c); err != nil {
				return err
			}
			return installed(c, deps).Change(c.Context, func(rs rules.Ruleset) (rules.Ruleset, string, error) {
				var out rules.Ruleset
				for _, r := range rs {
					if r.Action != rules.LogRate {
						out = append(out, r)
					}
				}
				if set == nil {
					return out, "log rate: " + rules.DefaultLogRate + " (the default)", nil
				}
				return append(out, *set), "log rate: " + set.Rate, nil
			}, dryRun)
		},
	}
}
