package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/firewalld"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/doctor"
)

func doctorCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check the live firewall for conflicts; each finding has an id, the evidence and the fix (exit 1 above info)",
		Flags: []cli.Flag{
			jsonFlag(),
			dockerConfigFlag(),
			&cli.StringFlag{Name: "etc", Value: "/etc", EnvVars: []string{"UFW_DOCKER_BRIDGE_ETC"}, Usage: "where iptables-persistent, ferm and systemd keep their files"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			if err := needRoot(c); err != nil {
				return err
			}
			e := installed(c, deps)
			rs, err := e.Store.Load()
			if err != nil {
				return err
			}
			inst, err := e.Backend.Installed()
			if err != nil {
				return err
			}
			bridges, err := deps.Bridges()
			if err != nil {
				return err
			}
			var names []string
			for _, b := range bridges {
				names = append(names, b.Name)
			}
			// Rules by container name, as the kernel got them.
			host, err := doctor.Collector{Runner: deps.Runner, UFWDir: c.String("ufw-dir"), DefaultUFW: "/etc/default/ufw",
				DockerConfig: c.String("docker-config"), ProcSys: "/proc/sys", Etc: c.String("etc"),
				Families: readable(deps)}.Collect(c.Context, inst, e.Live(c.Context, rs), names)
			if err != nil {
				return err
			}
			host.Zones, host.Firewall = bridgeZones(deps, names), e.Backend.Firewall
			if host.Uplinks, err = deps.Uplinks(); err != nil {
				return err
			}
			findings := doctor.Check(host)
			w := c.App.Writer
			if c.Bool("json") {
				if findings == nil {
					findings = []doctor.Finding{}
				}
				if err := printJSON(w, findings); err != nil {
					return err
				}
			} else {
				if len(findings) == 0 {
					fmt.Fprintln(w, "no findings: the firewall, Docker and ufw-docker-bridge agree")
				}
				for _, f := range findings {
					fmt.Fprintf(w, "%-7s %s: %s\n", f.Severity, f.ID, f.Summary)
					for _, e := range f.Evidence {
						fmt.Fprintf(w, "        seen: %s\n", e)
					}
					fmt.Fprintf(w, "        fix:  %s\n", f.Fix)
				}
			}
			if doctor.Failing(findings) {
				return cli.Exit("", ExitFailure)
			}
			return nil
		},
	}
}

// bridgeZones asks firewalld which zone each bridge is bound to; nil when
// firewalld does not run (or the bus cannot be reached).
func bridgeZones(deps Deps, names []string) map[string]string {
	bus, err := deps.SystemBus()
	if err != nil || !firewalld.Running(bus) {
		return nil
	}
	c := &firewalld.Client{Bus: bus}
	zones := map[string]string{}
	for _, n := range names {
		if z, err := c.ZoneOfInterface(n); err == nil && z != "" {
			zones[n] = z
		}
	}
	return zones
}
