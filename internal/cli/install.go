package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/iptables"
)

func installCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "install",
		Usage: "apply our rules live and keep them: in UFW's after*.rules, or next to firewalld in the state directory with a zone and policy for guests",
		Flags: []cli.Flag{
			dryRunFlag,
			&cli.StringFlag{Name: "backend", Value: "auto", Usage: "auto (firewalld when it runs, else ufw when enabled, else iptables), ufw, firewalld or iptables"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			b := c.String("backend")
			switch b {
			case "auto", "ufw", "firewalld", "iptables":
			default:
				return usagef("unknown backend %q (want auto, ufw, firewalld or iptables)", b)
			}
			if err := needRoot(c); err != nil {
				return err
			}
			if _, err := (iptables.Tables{Runner: deps.Runner}).CheckNotMixed(c.Context); err != nil {
				return err
			}
			fw, err := chooseFirewall(c, deps, b)
			if err != nil {
				return err
			}
			if other, ok := installedFirewall(c); ok && other != fw {
				return cli.Exit(fmt.Sprintf("installed with backend %s: run uninstall first to change to %s", other, fw), ExitFailure)
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
