package cli

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
)

// maxSetEntries bounds a set: the largest published block lists (FireHOL
// level 4, country lists) hold a few hundred thousand networks.
const maxSetEntries = 1_000_000

func setCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "set",
		Usage: "named address sets for rules (deny from @NAME, allow PORT from @NAME): nftables interval sets, one lookup whatever their size",
		Subcommands: []*cli.Command{
			{
				Name: "add", Usage: "add addresses or networks to a set (made when new)", ArgsUsage: "NAME ADDR|CIDR...",
				Flags: []cli.Flag{&cli.DurationFlag{Name: "timeout", Usage: "the entries leave the set after this long (1h, 10m)"}},
				Action: func(c *cli.Context) error {
					name, addrs, timeout, err := setArgs(c, true)
					if err != nil {
						return err
					}
					if err := needRoot(c); err != nil {
						return err
					}
					var expires time.Time
					if timeout > 0 {
						expires = time.Now().Add(timeout).Truncate(time.Second)
					}
					return installed(c, deps).ChangeSet(c.Context, name, func(old []rules.SetEntry, _ bool, _ rules.Ruleset) ([]rules.SetEntry, bool, string, error) {
						out, added := addEntries(old, addrs, expires)
						if len(out) > maxSetEntries {
							return nil, false, "", usagef("set %s would hold %d entries, more than %d", name, len(out), maxSetEntries)
						}
						return out, false, fmt.Sprintf("set %s: added %d, %d already there (%d entries)", name, added, len(addrs)-added, len(out)), nil
					})
				},
			},
			{
				Name: "del", Usage: "delete addresses or networks from a set, or, with none, the set (not while a rule names it)", ArgsUsage: "NAME [ADDR|CIDR...]",
				Action: func(c *cli.Context) error {
					name, addrs, timeout, err := setArgs(c, false)
					if err != nil {
						return err
					}
					if timeout != 0 {
						return usagef("set del takes no --timeout")
					}
					if err := needRoot(c); err != nil {
						return err
					}
					return installed(c, deps).ChangeSet(c.Context, name, func(old []rules.SetEntry, ok bool, _ rules.Ruleset) ([]rules.SetEntry, bool, string, error) {
						if !ok {
							return nil, false, "", usagef("no set %s", name)
						}
						if len(addrs) == 0 {
							return nil, true, "deleted: set " + name, nil
						}
						out := slices.DeleteFunc(slices.Clone(old), func(e rules.SetEntry) bool { return slices.Contains(addrs, e.Prefix) })
						gone := len(old) - len(out)
						return out, false, fmt.Sprintf("set %s: deleted %d, %d not there (%d entries)", name, gone, len(addrs)-gone, len(out)), nil
					})
				},
			},
			{
				Name: "load", Usage: "replace a set's entries with a list, atomically: one address or network a line, '#' and ';' start comments (FireHOL, Spamhaus DROP); " +
					"exit 0 whether or not it changed the set (--json says), as fail2ban's actionstop needs",
				ArgsUsage: "NAME FILE|-",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "check", Usage: "say what would change and change nothing (exit 3 when it would change the set)"},
					&cli.BoolFlag{Name: "empty", Usage: "let an empty list empty a set a rule uses (without it that is refused: a failed download reads as empty)"},
					jsonFlag(),
				},
				Action: func(c *cli.Context) error {
					args, flags := trailingFlags(c, "--check", "--json", "--empty")
					check, asJSON := flags["--check"], flags["--json"]
					if len(args) != 2 {
						return usagef("set load takes a set's name and a file (or - for standard input)")
					}
					name := args[0]
					if err := rules.CheckSetName(name); err != nil {
						return err
					}
					text, err := readList(args[1], c.App.Reader)
					if err != nil {
						return err
					}
					list, err := rules.ParseSetList(text)
					if err != nil {
						return usagef("%s: %v", args[1], strings.TrimPrefix(err.Error(), rules.ErrSyntax.Error()+": "))
					}
					if len(list) > maxSetEntries {
						return usagef("%s holds %d entries, more than %d", args[1], len(list), maxSetEntries)
					}
					if err := needRoot(c); err != nil {
						return err
					}
					after, _ := addEntries(nil, list, time.Time{})
					res := setLoadResult{Set: name, Check: check, Entries: len(after)}
					e := installed(c, deps)
					if asJSON {
						e.Out = io.Discard
					}
					if check {
						before, there, err := e.Store.LoadSet(name)
						if err != nil {
							return err
						}
						res.diff(before, there, after)
					} else if err := e.ChangeSet(c.Context, name, func(before []rules.SetEntry, there bool, usedBy rules.Ruleset) ([]rules.SetEntry, bool, string, error) {
						if len(after) == 0 && len(before) > 0 && len(usedBy) > 0 && !flags["--empty"] {
							return nil, false, "", usagef("%s is empty: set %s holds %d entries and rule %q uses it; "+
								"a list that failed to download would empty it (--empty says to)", args[1], name, len(before), usedBy[0])
						}
						res.diff(before, there, after)
						return after, false, res.String(), nil
					}); err != nil {
						return err
					}
					switch {
					case asJSON:
						if err := printJSON(c.App.Writer, res); err != nil {
							return err
						}
					case check:
						fmt.Fprintln(c.App.Writer, "would change: "+res.String())
					}
					if check && res.Changed {
						return cli.Exit("", ExitChanged)
					}
					return nil
				},
			},
			{
				Name: "list", Usage: "list the sets, or one set's entries", ArgsUsage: "[NAME]",
				Flags: []cli.Flag{jsonFlag()},
				Action: func(c *cli.Context) error {
					return listSets(c, deps)
				},
			},
		},
	}
}

// setArgs reads NAME ADDR|CIDR... (at least one address when need) and
// --timeout D, which may stand anywhere among them (urfave/cli reads flags
// only before the arguments).
func setArgs(c *cli.Context, need bool) (string, []netip.Prefix, time.Duration, error) {
	timeout, given := c.Duration("timeout"), c.IsSet("timeout")
	var words []string
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		v, eq := strings.CutPrefix(a, "--timeout=")
		switch {
		case a == "--timeout" && i+1 < len(args):
			v, eq = args[i+1], true
			i++
		case !eq:
			words = append(words, a)
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return "", nil, 0, usagef("invalid --timeout %q: want a duration such as 1h or 10m", v)
		}
		timeout, given = d, true
	}
	if given && (timeout < time.Second || timeout > 10*365*24*time.Hour) {
		return "", nil, 0, usagef("invalid --timeout %s: want 1s to 10 years", timeout)
	}
	if len(words) == 0 {
		return "", nil, 0, usagef("missing set name")
	}
	name := words[0]
	if err := rules.CheckSetName(name); err != nil {
		return "", nil, 0, err
	}
	if need && len(words) < 2 {
		return "", nil, 0, usagef("missing addresses: set add %s ADDR|CIDR...", name)
	}
	var out []netip.Prefix
	for _, a := range words[1:] {
		p, err := rules.ParseSource(a)
		if err != nil || !p.IsValid() {
			return "", nil, 0, usagef("invalid address %q: want an address or a CIDR", a)
		}
		out = append(out, p)
	}
	return name, out, timeout, nil
}

// addEntries adds prefixes to entries (an entry already there takes the
// new expiry) and says how many were new.
func addEntries(entries []rules.SetEntry, prefixes []netip.Prefix, expires time.Time) ([]rules.SetEntry, int) {
	at := make(map[netip.Prefix]int, len(entries)+len(prefixes))
	out := slices.Clone(entries)
	for i, e := range out {
		at[e.Prefix] = i
	}
	added := 0
	for _, p := range prefixes {
		if i, ok := at[p]; ok {
			out[i].Expires = expires
			continue
		}
		at[p] = len(out)
		out = append(out, rules.SetEntry{Prefix: p, Expires: expires})
		added++
	}
	return out, added
}

// setLoadResult is what set load did, or with --check would do.
type setLoadResult struct {
	Set     string `json:"set"`
	Changed bool   `json:"changed"`
	// Made says the set was not there before.
	Made    bool `json:"made"`
	Check   bool `json:"check"`
	Entries int  `json:"entries"`
	Added   int  `json:"added"`
	Removed int  `json:"removed"`
	// Retimed are entries in both whose expiry the list changes (a list's
	// entries are for good).
	Retimed int `json:"retimed"`
}

// diff counts what replacing before (there: the set exists) with after
// changes.
func (r *setLoadResult) diff(before []rules.SetEntry, there bool, after []rules.SetEntry) {
	r.Made = !there
	was := make(map[netip.Prefix]time.Time, len(before))
	for _, e := range before {
		was[e.Prefix] = e.Expires
	}
	for _, e := range after {
		exp, ok := was[e.Prefix]
		switch {
		case !ok:
			r.Added++
		case !exp.Equal(e.Expires):
			r.Retimed++
		}
		delete(was, e.Prefix)
	}
	r.Removed = len(was)
	r.Changed = r.Made || r.Added+r.Removed+r.Retimed > 0
}

func (r setLoadResult) String() string {
	if !r.Changed {
		return fmt.Sprintf("set %s: unchanged (%d entries)", r.Set, r.Entries)
	}
	made := ""
	if r.Made {
		made = ", a new set"
	}
	return fmt.Sprintf("set %s: loaded %d entries (%d added, %d removed, %d made permanent%s)", r.Set, r.Entries, r.Added, r.Removed, r.Retimed, made)
}

// readList reads a file, or standard input for "-".
func readList(path string, stdin io.Reader) (string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return "", usagef("reading %s: %v", path, err)
	}
	return string(data), nil
}

// setInfo is one set as list prints it.
type setInfo struct {
	Name    string   `json:"name"`
	Entries int      `json:"entries"`
	UsedBy  []string `json:"used_by"`
	Members []string `json:"members,omitempty"`
}

func listSets(c *cli.Context, deps Deps) error {
	if c.NArg() > 1 {
		return usagef("set list takes at most one set's name")
	}
	e := installed(c, deps)
	rs, err := e.Store.Load()
	if err != nil {
		return err
	}
	one := c.Args().First()
	if one != "" {
		if err := rules.CheckSetName(one); err != nil {
			return err
		}
		if ok, err := e.Store.HasSet(one); err != nil || !ok {
			if err != nil {
				return err
			}
			return usagef("no set %s", one)
		}
	}
	out, err := setInfos(e.Store, rs, one)
	if err != nil {
		return err
	}
	w := c.App.Writer
	if c.Bool("json") {
		return printJSON(w, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(w, "no sets")
	}
	printSets(w, out, "")
	return nil
}

// setInfos describes the sets of the state (only set one, with its
// members, when one is not ""), less what expired.
func setInfos(store state.Store, rs rules.Ruleset, one string) ([]setInfo, error) {
	names, err := store.SetNames()
	if err != nil {
		return nil, err
	}
	if one != "" {
		names = []string{one}
	}
	now := time.Now()
	out := []setInfo{}
	for _, n := range names {
		entries, _, err := store.LoadSet(n)
		if err != nil {
			return nil, err
		}
		info := setInfo{Name: n, UsedBy: []string{}}
		for i, r := range rs {
			if r.Set == n {
				info.UsedBy = append(info.UsedBy, fmt.Sprintf("%d: %s", i+1, r))
			}
		}
		for _, x := range entries {
			if !x.Expires.IsZero() && !x.Expires.After(now) {
				continue
			}
			info.Entries++
			if one != "" {
				m := rules.FormatPrefix(x.Prefix)
				if !x.Expires.IsZero() {
					m += " (expires in " + x.Expires.Sub(now).Round(time.Second).String() + ")"
				}
				info.Members = append(info.Members, m)
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// printSets prints one line a set, and its members, each behind indent.
func printSets(w io.Writer, sets []setInfo, indent string) {
	for _, s := range sets {
		used := "no rule"
		if len(s.UsedBy) > 0 {
			used = strings.Join(s.UsedBy, "; ")
		}
		fmt.Fprintf(w, "%s%s: %d entries, used by %s\n", indent, s.Name, s.Entries, used)
		for _, m := range s.Members {
			fmt.Fprintln(w, indent+"  "+m)
		}
	}
}
