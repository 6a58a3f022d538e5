package cli

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
)

func historyCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "history",
		Usage: fmt.Sprintf("show the last %d rule sets, newest first (restore N brings one back)", state.JournalKeep),
		Flags: []cli.Flag{jsonFlag(), &cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show each set's rules"}},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			entries, err := state.Store{Dir: c.String("state-dir")}.History()
			if err != nil {
				return err
			}
			w := c.App.Writer
			if c.Bool("json") {
				if entries == nil {
					entries = []state.Entry{}
				}
				return printJSON(w, entries)
			}
			if len(entries) == 0 {
				fmt.Fprintln(w, "no rule set in the journal yet: it keeps each one a change makes")
			}
			for _, e := range entries {
				if e.Unreadable != "" {
					fmt.Fprintf(w, "%3d  %s  unreadable: %s\n", e.Number, e.At.Local().Format("2006-01-02 15:04:05"), e.Unreadable)
					continue
				}
				fmt.Fprintf(w, "%3d  %s  %2d rules  %s\n", e.Number, e.At.Local().Format("2006-01-02 15:04:05"), len(e.Rules), e.What)
				if c.Bool("verbose") {
					for _, r := range e.Text {
						fmt.Fprintf(w, "       %s\n", r)
					}
				}
			}
			return nil
		},
	}
}

func restoreCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "make rule set N of history the rules again (itself a change the journal keeps)",
		ArgsUsage: "N",
		Flags:     []cli.Flag{dryRunFlag},
		Action: func(c *cli.Context) error {
			words, dryRun := ruleArgs(c)
			if len(words) != 1 {
				return usagef("restore needs one number (the number history shows), got %d arguments", len(words))
			}
			n, err := number(words[0], "history number")
			if err != nil {
				return err
			}
			if err := needRoot(c); err != nil {
				return err
			}
			entries, err := state.Store{Dir: c.String("state-dir")}.History()
			if err != nil {
				return err
			}
			if n > len(entries) {
				return fmt.Errorf("history has %d rule sets: there is no number %d", len(entries), n)
			}
			e := entries[n-1]
			if e.Unreadable != "" {
				return fmt.Errorf("rule set %d cannot be restored: %s", n, e.Unreadable)
			}
			what := fmt.Sprintf("restored: rule set %d of %s (%s): %s", n, e.At.Local().Format("2006-01-02 15:04:05"),
				e.What, strings.Join(e.Text, "; "))
			return installed(c, deps).Restore(c.Context, e.Rules, what, dryRun)
		},
	}
}
