package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/textdiff"
)

// ExitChanged is apply's exit code when it changed the policy (or, with
// --check, would): 0 says nothing changed, so Ansible's changed_when and a
// script's case can tell the two apart.
const ExitChanged = 3

// maxPolicy bounds a policy file read by apply (the rules file of 10,000
// rules is about 400 KB).
const maxPolicy = 16 << 20

// applyResult is what apply --json prints.
type applyResult struct {
	Changed bool     `json:"changed"`
	Check   bool     `json:"check"`
	Rules   int      `json:"rules"`
	Diff    []string `json:"diff"`
	// Repaired is what the sync pass repaired when the rules were the same.
	Repaired []string `json:"repaired,omitempty"`
	// Kept are the rules a tool owns (fail2ban's), which a policy does not
	// replace: apply leaves them as they are.
	Kept []string `json:"kept"`
}

func applyCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name: "apply",
		Usage: "replace the whole policy (rules and bridge settings) with a file in the rules file's format (export prints one); " +
			"exit 0 unchanged, 3 changed, 1 failure with nothing changed, 2 bad input naming the line",
		ArgsUsage: "FILE|-",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "check", Usage: "print the difference and change nothing (exit 3 when apply would change something)"},
			jsonFlag(),
		},
		Action: func(c *cli.Context) error {
			args, flags := trailingFlags(c, "--check", "--json")
			check, asJSON := flags["--check"], flags["--json"]
			if len(args) != 1 {
				return usagef("apply takes one FILE, or - for standard input")
			}
			name := args[0]
			text, err := readPolicy(c, name)
			if err != nil {
				return err
			}
			want, err := state.ParsePolicy(text, name)
			if err != nil {
				return usagef("%v", err)
			}
			if owned := want.Owned(); len(owned) > 0 {
				return usagef("%s: %q is a rule %s keeps, not the admin's policy: that tool adds and deletes it, and apply keeps it",
					name, owned[0], owned[0].Owner)
			}
			for _, r := range want.Of(rules.Forward) {
				if err := publishedBy(c, deps, r); err != nil {
					return err
				}
			}
			if err := needRoot(c); err != nil {
				return err
			}
			e := installed(c, deps)
			have, err := e.Store.Load()
			if err != nil {
				return err
			}
			res := applyResult{Check: check, Rules: len(want), Kept: []string{}}
			for _, r := range have.Owned() {
				res.Kept = append(res.Kept, r.String())
			}
			if before, after := state.Format(have.Policy()), state.Format(want); before != after {
				res.Changed, res.Diff = true, strings.Split(strings.TrimRight(textdiff.Unified(before, after, 1), "\n"), "\n")
			}
			var out bytes.Buffer
			e.Out = &out
			switch {
			case res.Check:
			case res.Changed:
				err = e.Restore(c.Context, want, fmt.Sprintf("applied: %s (%d rules)", name, len(want)), false)
			default:
				// The same rules: the live state is brought back to them,
				// and a repair is a change too.
				res.Repaired, err = e.Sync(c.Context)
				res.Changed = len(res.Repaired) > 0
			}
			if err != nil {
				c.App.Writer.Write(out.Bytes())
				return err
			}
			if asJSON {
				if err := printJSON(c.App.Writer, res); err != nil {
					return err
				}
			} else {
				printApply(c.App.Writer, res, out.String())
			}
			if res.Changed {
				return cli.Exit("", ExitChanged)
			}
			return nil
		},
	}
}

// trailingFlags reads the boolean flags names ("--check") wherever they
// stand: they may follow the arguments, as in the role's command lines
// (urfave/cli reads flags only before them).
func trailingFlags(c *cli.Context, names ...string) (args []string, set map[string]bool) {
	set = map[string]bool{}
	for _, n := range names {
		set[n] = c.Bool(strings.TrimPrefix(n, "--"))
	}
	for _, a := range c.Args().Slice() {
		if slices.Contains(names, a) {
			set[a] = true
			continue
		}
		args = append(args, a)
	}
	return args, set
}

func printApply(w io.Writer, res applyResult, said string) {
	for _, l := range res.Diff {
		fmt.Fprintln(w, l)
	}
	for _, r := range res.Repaired {
		fmt.Fprintln(w, "repaired:", r)
	}
	for _, r := range res.Kept {
		fmt.Fprintln(w, "kept (a tool's rule, not the policy's):", r)
	}
	fmt.Fprint(w, said)
	switch {
	case !res.Changed:
		fmt.Fprintln(w, "unchanged")
	case res.Check:
		fmt.Fprintln(w, "would change (--check: nothing changed)")
	default:
		fmt.Fprintln(w, "changed")
	}
}

// readPolicy reads FILE, or standard input for "-".
func readPolicy(c *cli.Context, name string) (string, error) {
	var r io.Reader = os.Stdin
	if c.App.Reader != nil {
		r = c.App.Reader
	}
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", usagef("apply: %v", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxPolicy+1))
	if err != nil {
		return "", usagef("apply: reading %s: %v", name, err)
	}
	if len(data) > maxPolicy {
		return "", usagef("apply: %s is over %d bytes", name, maxPolicy)
	}
	return string(data), nil
}

func exportCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "print the policy (rules and bridge settings) in the format apply reads; the rules tools own (fail2ban's) follow as comments",
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			rs, err := state.Store{Dir: c.String("state-dir")}.Load()
			if err != nil {
				return err
			}
			// The tools' rules are not the admin's policy: shown, as
			// comments, since apply keeps them whatever the policy says.
			var b strings.Builder
			b.WriteString(state.Format(rs.Policy()))
			for i, r := range rs.Owned() {
				if i == 0 {
					b.WriteString("# Kept by the tools that own them, whatever a policy applied says:\n")
				}
				b.WriteString("#   " + r.String() + "\n")
			}
			_, err = io.WriteString(c.App.Writer, b.String())
			return err
		},
	}
}
