package cli

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/watch"
)

func syncCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "sync",
		Usage: "one verify-and-repair pass: repair only what drifted and print it",
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			if err := needRoot(c); err != nil {
				return err
			}
			repaired, err := env(c, deps).Sync(c.Context)
			for _, r := range repaired {
				fmt.Fprintln(c.App.Writer, "repaired:", r)
			}
			if err != nil {
				return err
			}
			if len(repaired) == 0 {
				fmt.Fprintln(c.App.Writer, "in sync: nothing to repair")
			}
			return nil
		},
	}
}

func watchCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "watch",
		Usage: "the daemon: keep the live rules equal to the desired ones, repairing on every change",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "safety-interval", Value: 30 * time.Second, Usage: "interval of the pass that needs no event"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			if c.Duration("safety-interval") <= 0 {
				return usagef("--safety-interval must be positive")
			}
			if err := needRoot(c); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			e := env(c, deps)
			log := slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
			loop := &watch.Loop{
				Pass: e.Sync,
				Log:  log,
				Notify: func(s string) {
					if err := watch.SystemdNotify(s); err != nil {
						log.Warn("systemd notification failed", "state", s, "err", err)
					}
				},
				Safety:     c.Duration("safety-interval"),
				Watchdog:   watch.WatchdogInterval(),
				MaxRepairs: 20,
			}
			sources := []watch.Source{watch.NFTables(), watch.Links(), watch.FirewallD{Log: log},
				watch.Files{Dirs: existing(e.Store.Dir, c.String("ufw-dir"))}}
			log.Info("watching", "state", e.Store.Dir, "ufw", c.String("ufw-dir"))
			return loop.Run(ctx, sources...)
		},
	}
}

// existing returns the directories that exist (the state directory may not
// until the first rule).
func existing(dirs ...string) []string {
	var out []string
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}
