package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/iptables"
)

func installCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "install",
		Usage: "add the managed blocks to UFW's after*.rules and apply them live",
		Flags: []cli.Flag{
			dryRunFlag,
			&cli.StringFlag{Name: "backend", Value: "auto", Usage: "auto or ufw"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			switch b := c.String("backend"); b {
			case "auto", "ufw":
			case "firewalld", "iptables":
				return cli.Exit("backend "+b+" is not available in this version: use ufw", ExitFailure)
			default:
				return usagef("unknown backend %q (want auto or ufw)", b)
			}
			if err := needRoot(c); err != nil {
				return err
			}
			if _, err := (iptables.Tables{Runner: deps.Runner}).CheckNotMixed(c.Context); err != nil {
				return err
			}
			return env(c, deps).Install(c.Context, c.Bool("dry-run"))
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
			return env(c, deps).Uninstall(c.Context, c.Bool("dry-run"))
		},
	}
}
