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
