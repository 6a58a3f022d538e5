package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/backend"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/doctor"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/engine"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/iptables"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/nft"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/ufw"
)

// numberedRule is a rule as list shows it.
type numberedRule struct {
	Number int    `json:"number"`
	Rule   string `json:"rule"`
}

// report is what list and status print; list leaves out the live parts.
type report struct {
	Backend   string          `json:"backend"`
	Installed map[string]bool `json:"installed"`
	Rules     []numberedRule  `json:"rules"`
	Variant   string          `json:"iptables,omitempty"`
	// Recorded says the installed record is there: we are installed, and a
	// file without our block is drift that sync repairs.
	Recorded bool `json:"recorded"`
	// UFW says, next to UFW, whether it is enabled (ufw.conf's ENABLED):
	// "enabled" or "disabled".
	UFW   string           `json:"ufw,omitempty"`
	Live  []backend.Health `json:"delegation,omitempty"`
	Guard string           `json:"guard,omitempty"`
	// Sets are the address sets, and SetsTable our sets table's state
	// ("in place", "missing"; "" when there is no set).
	Sets      []setInfo `json:"sets,omitempty"`
	SetsTable string    `json:"sets_table,omitempty"`
	// Unmanaged are the families left alone here, with why
	// (backend.Backend.Unmanaged).
	Unmanaged map[string]string `json:"unmanaged,omitempty"`
	// LiveUnknown says why the live part is missing (not root).
	LiveUnknown string            `json:"live_unknown,omitempty"`
	Bridges     []discover.Bridge `json:"bridges,omitempty"`
	// Hooks and NFTTables are the verbose part: every rule of the built-in
	// chains in evaluation order with owner and counters, and the nftables
	// tables with their owners.
	Hooks     []doctor.Hook     `json:"hooks,omitempty"`
	NFTTables map[string]string `json:"nft_tables,omitempty"`
}

func jsonFlag() cli.Flag { return &cli.BoolFlag{Name: "json", Usage: "print JSON"} }

// verbose adds the hooks and nftables tables to r.
func verbose(c *cli.Context, deps Deps, r *report) error {
	saves := map[rules.Family]*rules.Dump{}
	for _, f := range readable(deps) {
		d, err := (iptables.Tables{Runner: deps.Runner}).SaveAll(c.Context, f, true)
		if err != nil {
			return err
		}
		saves[f] = d
	}
	r.Hooks = doctor.Hooks(saves)
	tables, err := deps.AllNFTTables()
	if err != nil {
		return err
	}
	r.NFTTables = map[string]string{}
	for _, t := range tables {
		r.NFTTables[t] = discover.OwnerOfTable(t)
	}
	return nil
}

// printHooks prints each built-in chain's rules grouped by owner.
func printHooks(w io.Writer, r *report) {
	for _, h := range r.Hooks {
		fmt.Fprintf(w, "%s %s %s (policy %s):\n", h.Family, h.Table, h.Chain, h.Policy)
		last := ""
		for _, x := range h.Rules {
			if x.Owner != last {
				fmt.Fprintf(w, "  %s:\n", x.Owner)
				last = x.Owner
			}
			fmt.Fprintf(w, "    %3d  %-14s %s\n", x.Position, x.Counters, x.Rule)
		}
	}
	var tables []string
	for t := range r.NFTTables {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	fmt.Fprintln(w, "nftables tables:")
	for _, t := range tables {
		fmt.Fprintf(w, "  %-32s %s\n", t, r.NFTTables[t])
	}
}

func gather(c *cli.Context, deps Deps, live bool) (*report, error) {
	e := installed(c, deps)
	root := os.Geteuid() == 0
	p, err := e.Status(c.Context, live && root)
	r := &report{Backend: e.Backend.Firewall.String(), Installed: map[string]bool{}, Rules: []numberedRule{}, Recorded: p.Recorded}
	for i, x := range p.Rules {
		r.Rules = append(r.Rules, numberedRule{i + 1, x.String()})
	}
	if err == nil {
		if r.Sets, err = setInfos(e.Store, p.Rules, ""); len(r.Sets) == 0 {
			r.Sets = nil
		}
	}
	if errors.Is(err, fs.ErrPermission) {
		r.LiveUnknown = "reading UFW's files and the live firewall needs root"
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	for f, ok := range p.Installed {
		r.Installed[e.Backend.Path(f)] = ok
	}
	for f, why := range e.Backend.Unmanaged {
		if r.Unmanaged == nil {
			r.Unmanaged = map[string]string{}
		}
		r.Unmanaged[f.String()] = why
	}
	if !live {
		return r, nil
	}
	if !root {
		r.LiveUnknown = "reading UFW's files and the live firewall needs root"
		return r, nil
	}
	v, err := (iptables.Tables{Runner: deps.Runner}).DetectVariant(c.Context)
	if err != nil {
		return nil, err
	}
	r.Variant = string(v)
	if e.Backend.Firewall == plan.UFW {
		r.UFW = "disabled"
		if ufw.Enabled(c.String("ufw-dir")) {
			r.UFW = "enabled"
		}
	}
	r.Live, r.Guard = p.Live, p.Guard
	if len(r.Sets) > 0 || len(plan.SetNames(p.Rules)) > 0 {
		sets := nft.Sets{Runner: deps.Runner, Elements: deps.SetElements, Sums: sums(c)}
		cur, err := sets.Current(c.Context)
		if err != nil {
			return nil, err
		}
		edited, err := sets.Edited(c.Context)
		if err != nil {
			return nil, err
		}
		switch {
		case cur == "":
			r.SetsTable = engine.GuardMissing
		case edited:
			r.SetsTable = engine.GuardEdited
		default:
			r.SetsTable = engine.GuardInPlace
		}
	}
	rs, docker := p.Rules, p.Docker
	if r.Bridges, err = describeBridges(c, deps, rs, docker); err != nil {
		return nil, err
	}
	if c.Bool("verbose") {
		if err := verbose(c, deps, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// describeBridges lists the host's bridges with their owners, roles and NAT.
// docker are Docker's bridges (plan.DockerBridges), as Verify read them.
func describeBridges(c *cli.Context, deps Deps, rs rules.Ruleset, docker []string) ([]discover.Bridge, error) {
	bs, err := deps.Bridges()
	if err != nil {
		return nil, err
	}
	tables := iptables.Tables{Runner: deps.Runner}
	masq, ruleset, err := nft.NAT{Runner: deps.Runner, Tables: tables, Uplinks: deps.Uplinks, Families: readable(deps), All: deps.AllNFTTables}.Read(c.Context)
	if err != nil {
		return nil, err
	}
	ours := plan.NATSubnets(nft.BridgeNets(bs), masq, rs.Bridges())
	filter, err := tables.Save(c.Context, rules.IPv4, "filter")
	if err != nil {
		return nil, err
	}
	owners := discover.OwnersFromNFT(ruleset)
	for br, o := range discover.OwnersFromSave(filter) {
		owners[br] = o
	}
	for _, br := range docker {
		owners[br] = discover.OwnerDocker
	}
	role := func(name string) string { return plan.RoleOf(rs.Bridges(), docker, name) }
	return discover.Describe(bs, owners, role, masq, ours), nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printRules(w io.Writer, r *report) {
	if len(r.Rules) == 0 {
		fmt.Fprintln(w, "no rules: every published port is closed from outside")
		return
	}
	for _, x := range r.Rules {
		fmt.Fprintf(w, "[%2d] %s\n", x.Number, x.Rule)
	}
}

func installedLine(r *report) string {
	var parts []string
	for path, ok := range r.Installed {
		parts = append(parts, fmt.Sprintf("%s %s", path, map[bool]string{true: "yes", false: "no"}[ok]))
	}
	sort.Strings(parts)
	line := "installed: " + strings.Join(parts, ", ")
	for _, ok := range r.Installed {
		if r.Recorded && !ok {
			line += "\nDRIFT: installed (" + state.RecordFile + " record), but a file lacks our block (ufw reset, or a package's copy): sync writes it again"
			break
		}
	}
	return line
}

func listCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "show the rules, numbered",
		Flags: []cli.Flag{jsonFlag()},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			r, err := gather(c, deps, false)
			if err != nil {
				return err
			}
			w := c.App.Writer
			if c.Bool("json") {
				return printJSON(w, r)
			}
			fmt.Fprintf(w, "backend: %s\n%s\n", r.Backend, installedLine(r))
			if r.LiveUnknown != "" {
				fmt.Fprintf(w, "install state: unknown: %s\n", r.LiveUnknown)
			}
			printRules(w, r)
			return nil
		},
	}
}

func statusCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show backend, install state, bridges, rules and whether the live rules match the files",
		Flags: []cli.Flag{jsonFlag(), &cli.BoolFlag{Name: "verbose", Usage: "show every drift line, every rule hooked into INPUT/FORWARD/POSTROUTING by owner with counters, and the nftables tables"},
			&cli.BoolFlag{Name: "ports", Usage: "one line per published port: address:port/proto, container (compose project/service), networks, open to whom, and the rules that decide"}},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			if c.Bool("ports") {
				if err := needRoot(c); err != nil {
					return err
				}
				ports, notes, err := portsReport(c, deps)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					if ports == nil {
						ports = []portLine{}
					}
					return printJSON(c.App.Writer, map[string]any{"ports": ports, "notes": notes})
				}
				printPorts(c.App.Writer, ports, notes)
				return nil
			}
			r, err := gather(c, deps, true)
			if err != nil {
				return err
			}
			w := c.App.Writer
			if c.Bool("json") {
				return printJSON(w, r)
			}
			if r.LiveUnknown != "" {
				fmt.Fprintf(w, "backend: %s\n%s\nlive state: unknown: %s\nrules:\n", r.Backend, installedLine(r), r.LiveUnknown)
				printRules(w, r)
				return nil
			}
			fmt.Fprintf(w, "backend: %s (iptables %s)\n%s\n", r.Backend, r.Variant, installedLine(r))
			switch r.UFW {
			case "enabled":
				fmt.Fprintln(w, "ufw: enabled")
			case "disabled":
				fmt.Fprintln(w, "ufw: disabled (its files load at no boot and no reload; the live rules hold until then: ufw enable)")
			}
			for _, h := range r.Live {
				state := "in sync with the files"
				if !h.InSync {
					state = fmt.Sprintf("DRIFT (%d differences)", len(h.Drift))
				}
				jump := "FORWARD does not jump to DOCKER-USER (is Docker running?)"
				if h.ForwardJump > 0 {
					jump = fmt.Sprintf("FORWARD jumps to DOCKER-USER at rule %d", h.ForwardJump)
				}
				fmt.Fprintf(w, "live %s: %s; %s\n", h.Family, state, jump)
				if c.Bool("verbose") {
					for _, d := range h.Drift {
						fmt.Fprintf(w, "  %s\n", d)
					}
				}
			}
			for _, f := range rules.Families {
				if why, off := r.Unmanaged[f.String()]; off {
					fmt.Fprintf(w, "%s: not managed: %s\n", f, why)
				}
			}
			fmt.Fprintf(w, "guard (nftables table inet %s): %s\n", rules.GuardTable, r.Guard)
			if r.SetsTable != "" {
				fmt.Fprintf(w, "sets (nftables table inet %s): %s\n", rules.SetsTable, r.SetsTable)
			}
			fmt.Fprintln(w, "bridges:")
			for _, b := range r.Bridges {
				fmt.Fprintf(w, "  %-16s %-8s %-10s nat: %s\n", b.Name, b.Owner, b.Role, strings.Join(b.NAT, ", "))
			}
			fmt.Fprintln(w, "rules:")
			printRules(w, r)
			if len(r.Sets) > 0 {
				fmt.Fprintln(w, "sets:")
				printSets(w, r.Sets, "  ")
			}
			if c.Bool("verbose") {
				printHooks(w, r)
			}
			return nil
		},
	}
}
