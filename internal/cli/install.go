package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/firewalld"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/iptables"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
)

func installCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "install",
		Usage: "apply our rules live and keep them: in UFW's after*.rules, or next to firewalld in the state directory with a zone and policy for guests",
		Flags: []cli.Flag{
			dryRunFlag,
			&cli.StringFlag{Name: "backend", Value: "auto", Usage: "auto (firewalld when it runs, else ufw), ufw or firewalld"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			b := c.String("backend")
			switch b {
			case "auto", "ufw", "firewalld":
			case "iptables":
				return cli.Exit("backend iptables is not available in this version: use ufw or firewalld", ExitFailure)
			default:
				return usagef("unknown backend %q (want auto, ufw or firewalld)", b)
			}
			if err := needRoot(c); err != nil {
				return err
			}
			if _, err := (iptables.Tables{Runner: deps.Runner}).CheckNotMixed(c.Context); err != nil {
				return err
			}
			running := false
			if bus, err := deps.SystemBus(); err == nil {
				running = firewalld.Running(bus)
			}
			fw := plan.UFW
			switch {
			case b == "firewalld" && !running:
				return cli.Exit("firewalld is not running (start it, or install with --backend ufw)", ExitFailure)
			case b == "firewalld" || (b == "auto" && running):
				fw = plan.FirewallD
			}
			return env(c, deps, fw).Install(c.Context, c.Bool("dry-run"))
		},
	}
}

func uninstallCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "uninstall",
		Usage: "remove the managed blocks and the live rules; UFW's files are left as they were before install",
		Flags: []cli.Flag{dryRunFlag},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			if err := needRoot(c); err != nil {
				return err
			}
			return installed(c, deps).Uninstall(c.Context, c.Bool("dry-run"))
		},
	}
}
