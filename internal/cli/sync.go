package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/iptables"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/metrics"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/nft"
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
			repaired, err := installed(c, deps).Sync(c.Context)
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
		Description: "Repairs on nftables, link, firewalld and file events and on a slow safety pass. " +
			"SIGHUP (systemctl reload) reads the rules and settings again and runs one pass; SIGTERM and SIGINT stop it.",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "safety-interval", Usage: "interval of the pass that needs no event " +
				"(default: 30s with iptables-legacy, whose changes send none; 10m with iptables-nft)"},
			&cli.StringFlag{Name: "metrics-file", EnvVars: []string{"UFW_DOCKER_BRIDGE_METRICS_FILE"}, Usage: "write Prometheus metrics there after every pass (node_exporter's textfile " +
				"collector; default " + DefaultMetricsFile + " when its directory exists; \"\" for none)"},
			&cli.StringFlag{Name: "metrics-listen", Usage: "also serve the metrics on ADDR at /metrics; bind it no wider than Prometheus needs " +
				"(127.0.0.1:9633, or a private address): a scrape lists every rule, source and comment"},
			&cli.DurationFlag{Name: "metrics-interval", Value: 15 * time.Second, Usage: "how often the metrics file's counters are read between passes"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			if c.IsSet("safety-interval") && c.Duration("safety-interval") <= 0 {
				return usagef("--safety-interval must be positive")
			}
			if err := needRoot(c); err != nil {
				return err
			}
			// SIGHUP (systemctl reload) runs a pass; subscribed first, so
			// that none can end the daemon. SIGTERM and SIGINT stop it.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			e := installed(c, deps)
			log := slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
			safety := c.Duration("safety-interval")
			if !c.IsSet("safety-interval") {
				safety = defaultSafety(ctx, deps, log)
			}
			rec := &metrics.Recorder{}
			file := metricsFile(c.String("metrics-file"), c.IsSet("metrics-file"))
			if addr := c.String("metrics-listen"); addr != "" {
				l, err := net.Listen("tcp", addr)
				if err != nil {
					return cli.Exit(fmt.Sprintf("--metrics-listen %s: %v", addr, err), ExitUsage)
				}
				serveMetrics(ctx, l, deps, e, rec, log)
			}
			refresh := file != "" && c.Duration("metrics-interval") > 0
			if refresh {
				go refreshMetrics(ctx, deps, e, rec, file, c.Duration("metrics-interval"), log)
			}
			loop := &watch.Loop{
				Pass: measured(e, rec, file, refresh, log),
				Log:  log,
				Notify: func(s string) {
					if err := watch.SystemdNotify(s); err != nil {
						log.Warn("systemd notification failed", "state", s, "err", err)
					}
				},
				Safety:     safety,
				Watchdog:   watch.WatchdogInterval(),
				MaxRepairs: 20,
			}
			// Element changes of our sets by another process (a hand
			// `nft flush set`) show in the nftables group's messages alone.
			edits := &nft.EditLog{}
			written := sums(c)
			e.SetEdits = func() map[string]string { return edits.Take(written) }
			rulesets := watch.NFTables()
			rulesets.Relevant = func() func([]byte) bool { return edits.Observe }
			sources := []watch.Source{rulesets, watch.Links(), watch.FirewallD{Log: log},
				watch.Files{Dirs: existing(e.Store.Dir, c.String("ufw-dir"))}, watch.Hangup{C: hup, Log: log}}
			if leases := discover.LeaseDirs(); len(leases) > 0 {
				sources = append(sources, watch.Files{Dirs: leases, Again: leaseSettle})
			}
			if events, ok := deps.Docker.(interface {
				Events(context.Context, func()) error
			}); ok {
				sources = append(sources, watch.DockerEvents{Events: events.Events, Log: log})
			}
			log.Info("watching", "state", e.Store.Dir, "ufw", c.String("ufw-dir"), "metrics", file)
			return loop.Run(ctx, sources...)
		},
	}
}

// leaseSettle is how long after a lease is written the watcher looks again
// at forwards' guests: a guest sets the address a moment after its lease.
const leaseSettle = 2 * time.Second

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

// defaultSafety is the safety pass's interval when none is given: every
// change made through iptables-nft or nft reaches us as a netlink event, so
// the pass is a slow backstop there; iptables-legacy sends no event.
func defaultSafety(ctx context.Context, deps Deps, log *slog.Logger) time.Duration {
	v, err := iptables.Tables{Runner: deps.Runner}.DetectVariant(ctx)
	if err != nil || v != iptables.NFT {
		log.Info("safety pass every 30s: iptables changes send no event here", "variant", v)
		return 30 * time.Second
	}
	return 10 * time.Minute
}
