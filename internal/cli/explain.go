package cli

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/explain"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/iptables"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/nft"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// parseTarget reads HOSTADDR:PORT[/tcp|/udp].
func parseTarget(s string) (netip.AddrPort, string, error) {
	spec, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return netip.AddrPort{}, "", usagef("invalid protocol %q in --to (want tcp or udp)", proto)
	}
	ap, err := netip.ParseAddrPort(spec)
	if err != nil || ap.Port() == 0 {
		return netip.AddrPort{}, "", usagef("invalid --to %q: want HOSTADDR:PORT[/tcp|/udp]", s)
	}
	return ap, proto, nil
}

func explainCommand(deps Deps) *cli.Command {
	return &cli.Command{
		Name:  "explain",
		Usage: "walk the live rules offline for one NEW connection (Docker's DNAT, our forwards to guests, the filter chains, our tables) and say which rule decides (sends no packet)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Required: true, Usage: "the client's address"},
			&cli.StringFlag{Name: "to", Required: true, Usage: "ADDR:PORT[/tcp|/udp]: an address of this host, or one it routes to (a container's, a guest's)"},
			jsonFlag(),
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			src, err := netip.ParseAddr(c.String("from"))
			if err != nil {
				return usagef("invalid --from %q: want an address", c.String("from"))
			}
			dst, proto, err := parseTarget(c.String("to"))
			if err != nil {
				return err
			}
			if src.Is4() != dst.Addr().Is4() {
				return usagef("--from and --to are of different address families")
			}
			if err := needRoot(c); err != nil {
				return err
			}
			f := rules.IPv4
			if !src.Is4() {
				f = rules.IPv6
			}
			dump, err := (iptables.Tables{Runner: deps.Runner}).SaveAll(c.Context, f, false)
			if err != nil {
				return err
			}
			guard, err := (nft.Guard{Runner: deps.Runner}).Current(c.Context)
			if err != nil {
				return err
			}
			links, err := deps.Bridges()
			if err != nil {
				return err
			}
			local, err := deps.LocalAddrs()
			if err != nil {
				return err
			}
			e := installed(c, deps)
			rs, err := e.Store.Load()
			if err != nil {
				return err
			}
			// The guard watches the bridges our policy calls containers',
			// Docker's facts included.
			docker := plan.DockerBridges(dump.Table("filter"))
			env := explain.Env{Save: dump, Guard: guard != "", Local: local}
			// The sets table decides the rules as live: by name, the host
			// ports and addresses Docker publishes.
			if env.Sets, err = setsView(c, deps, e.Live(c.Context, rs)); err != nil {
				return err
			}
			if env.Forwards, env.Unread, err = (nft.NAT{Runner: deps.Runner}).Forwards(c.Context); err != nil {
				return err
			}
			for _, b := range links {
				eb := explain.Bridge{Name: b.Name, Prefixes: b.Addrs}
				env.Bridges = append(env.Bridges, eb)
				role := plan.RoleOf(rs.Bridges(), docker, b.Name)
				if role == plan.RoleContainers {
					env.GuardBridges = append(env.GuardBridges, b.Name)
				}
				if env.Sets != nil && (role == plan.RoleContainers || role == plan.RoleGuests) {
					env.Sets.Bridges = append(env.Sets.Bridges, b.Name)
				}
			}
			// The packet comes in by the interface the host routes its
			// source to: `ufw route allow in on eth0 ...` names it.
			in, err := deps.RouteIface(src)
			if err != nil || in == "lo" {
				in = ""
			}
			res := explain.Explain(env, explain.Packet{Src: src, Dst: dst.Addr(), Proto: proto, DPort: int(dst.Port()), InIface: in})
			w := c.App.Writer
			if c.Bool("json") {
				return printJSON(w, res)
			}
			fmt.Fprintf(w, "%s -> %s/%s: %s\n", src, dst, proto, res.Verdict)
			if res.DNAT != "" {
				fmt.Fprintf(w, "  DNAT to %s\n", res.DNAT)
			}
			if in != "" {
				fmt.Fprintf(w, "  in by: %s (the route to %s)\n", in, src)
			}
			fmt.Fprintf(w, "  path: %s\n  decided by: %s\n  steps:\n", res.Path, res.Decided)
			for _, s := range res.Steps {
				fmt.Fprintf(w, "    %s\n", s)
			}
			for _, u := range res.Uncertain {
				fmt.Fprintf(w, "  not evaluated (taken as no match): %s\n", u)
			}
			return nil
		},
	}
}

// setsView is what our live sets table decides, for explain: nil when the
// table is not there. The members are the state's, less what expired.
func setsView(c *cli.Context, deps Deps, rs rules.Ruleset) (*explain.Sets, error) {
	cur, err := (nft.Sets{Runner: deps.Runner, Elements: deps.SetElements}).Current(c.Context)
	if err != nil || cur == "" {
		return nil, err
	}
	v := &explain.Sets{Members: map[string][]netip.Prefix{}}
	store := installed(c, deps).Store
	now := time.Now()
	for _, r := range rs {
		if r.Set == "" {
			continue
		}
		v.Rules = append(v.Rules, r)
		if _, done := v.Members[r.Set]; done {
			continue
		}
		v.Members[r.Set] = []netip.Prefix{}
		entries, _, err := store.LoadSet(r.Set)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Expires.IsZero() || e.Expires.After(now) {
				v.Members[r.Set] = append(v.Members[r.Set], e.Prefix)
			}
		}
	}
	return v, nil
}
