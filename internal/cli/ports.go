package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/iptables"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
)

// portLine is one published port as status --ports shows it.
type portLine struct {
	Address   string   `json:"address"`
	Port      uint16   `json:"port"`
	Proto     string   `json:"proto"`
	Container string   `json:"container"`
	Service   string   `json:"service,omitempty"`
	Networks  []string `json:"networks,omitempty"`
	OpenTo    string   `json:"open_to"`
	DecidedBy []string `json:"decided_by"`
	Warning   string   `json:"warning,omitempty"`
	// Guest is a forward's guest and where it goes ("udbvm 10.1.2.3:22"),
	// for a host port we forward (Container is then empty).
	Guest string `json:"guest,omitempty"`
}

// portsReport reads the published ports from Docker's API (names, compose
// services, networks) and Docker's live DNAT rules (what is published in
// fact), and says who each is open to under the rules. A port the API
// lists without a DNAT rule of its family reaches the host through
// docker-proxy alone, which the guard (IPv4) or --host-too rules decide.
// Without Docker's API the DNAT rules alone are listed, and a note says so.
func portsReport(c *cli.Context, deps Deps) ([]portLine, []string, error) {
	e := installed(c, deps)
	return ports(c.Context, deps, e.Store, e.LiveLabelled)
}

// ports is portsReport for the state in store, its rules resolved by
// resolve (the engine's LiveLabelled, or its Resolve beside the passes).
func ports(ctx context.Context, deps Deps, store state.Store, resolve func(context.Context, rules.Ruleset) (rules.Ruleset, []string)) ([]portLine, []string, error) {
	written, err := store.Load()
	if err != nil {
		return nil, nil, err
	}
	rs, labels := resolve(ctx, written)
	_, recorded, err := store.Record()
	if err != nil {
		return nil, nil, err
	}
	dnat := map[rules.Family][]plan.Published{}
	for _, f := range readable(deps) {
		t, err := (iptables.Tables{Runner: deps.Runner}).Save(ctx, f, "nat")
		if err != nil {
			return nil, nil, err
		}
		dnat[f], _ = plan.PublishedPorts(t)
	}
	var notes []string
	containers, err := deps.Docker.Containers(ctx)
	if err != nil {
		notes = append(notes, "Docker's API did not answer ("+err.Error()+"): ports from Docker's DNAT rules, without container names")
		containers = nil
		for _, f := range readable(deps) {
			for _, p := range dnat[f] {
				n, ok := plan.PortNumber(p.Port)
				if !ok {
					continue
				}
				addr := p.Addr
				if !addr.IsValid() {
					addr = map[rules.Family]netip.Addr{rules.IPv4: netip.IPv4Unspecified(), rules.IPv6: netip.IPv6Unspecified()}[f]
				}
				containers = append(containers, docker.Container{Names: []string{"? (" + p.To + ")"},
					Ports: []docker.Port{{IP: addr.String(), PublicPort: n, Type: p.Proto}}})
			}
		}
	}
	var out []portLine
	for _, ct := range containers {
		for _, p := range ct.Ports {
			addr, err := netip.ParseAddr(p.IP)
			if p.PublicPort == 0 || err != nil {
				continue
			}
			l := portLine{Address: addr.String(), Port: p.PublicPort, Proto: p.Type, Container: ct.Name(), Service: ct.Service(), Networks: ct.Networks()}
			f := rules.IPv4
			if addr.Is6() {
				f = rules.IPv6
			}
			switch {
			case addr.IsLoopback() || published(dnat[f], addr, p) && recorded:
				l.OpenTo, l.DecidedBy = plan.Exposure(rs, labels, addr, p.PublicPort, p.Type)
			case !recorded:
				l.OpenTo, l.DecidedBy = plan.OpenNoPolicy, []string{"ufw-docker-bridge install closes it"}
			case f == rules.IPv6:
				l.Warning = "no IPv6 DNAT rule: IPv6 clients reach it through docker-proxy, which only --host-too rules open"
				hostRules, hostLabels := hostToo(rs, labels)
				l.OpenTo, l.DecidedBy = plan.Exposure(hostRules, hostLabels, addr, p.PublicPort, p.Type)
			default:
				l.Warning = "Docker's DNAT rule is missing (flushed?): docker-proxy answers, and the guard keeps it closed"
				l.OpenTo, l.DecidedBy = plan.OpenClosed, []string{"the guard's input chain"}
			}
			out = append(out, l)
		}
	}
	out = append(out, forwardLines(written, rs, labels, containers)...)
	slices.SortFunc(out, func(a, b portLine) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), strings.Compare(a.Proto, b.Proto), strings.Compare(a.Address, b.Address))
	})
	return out, notes, nil
}

// forwardLines are the host ports forwarded to guests: one line a found
// forward and protocol, and one closed line for a forward whose guest is
// not found or has no address now. A container publishing the same port
// is named: Docker's DNAT takes it first.
func forwardLines(written, rs rules.Ruleset, labels []string, containers []docker.Container) []portLine {
	var out []portLine
	line := func(r rules.Rule, proto string) portLine {
		l := portLine{Address: "0.0.0.0", Port: r.Ports.First, Proto: proto}
		if r.Dest.Is6() {
			l.Address = "::"
		}
		for _, ct := range containers {
			for _, p := range ct.Ports {
				if p.PublicPort == r.Ports.First && p.Type == proto {
					l.Warning = "container " + ct.Name() + " publishes this port too: Docker's DNAT takes it first"
				}
			}
		}
		return l
	}
	found := map[string]bool{}
	for i, r := range rs {
		if r.Action != rules.Forward || !r.Dest.IsValid() {
			continue
		}
		found[r.String()] = true
		for _, p := range plan.Protos(r.Proto) {
			l := line(r, string(p))
			l.Guest = r.Target + " " + netip.AddrPortFrom(r.Dest, r.GuestPort()).String()
			l.OpenTo, l.DecidedBy = plan.ForwardExposure(rs, labels, i, string(p))
			out = append(out, l)
		}
	}
	for i, r := range written {
		if r.Action != rules.Forward || found[r.String()] {
			continue
		}
		for _, p := range plan.Protos(r.Proto) {
			l := line(r, string(p))
			l.Guest = r.Target + " (not found, or no address)"
			l.OpenTo, l.DecidedBy = plan.OpenClosed, []string{fmt.Sprintf("%d: %s", i+1, r)}
			out = append(out, l)
		}
	}
	return out
}

// published reports whether Docker's DNAT rules of the port's family
// publish port p on addr.
func published(ps []plan.Published, addr netip.Addr, p docker.Port) bool {
	return slices.ContainsFunc(ps, func(x plan.Published) bool {
		n, _ := plan.PortNumber(x.Port)
		return n == p.PublicPort && x.Proto == p.Type && (!x.Addr.IsValid() && addr.IsUnspecified() || x.Addr == addr)
	})
}

// hostToo keeps the rules that also cover the host's own ports, each with
// the label that names it as list does (labels[i], or its list number).
func hostToo(rs rules.Ruleset, labels []string) (rules.Ruleset, []string) {
	var out rules.Ruleset
	var outLabels []string
	for i, r := range rs {
		if !r.HostToo {
			continue
		}
		label := fmt.Sprintf("%d: %s", i+1, r)
		if i < len(labels) {
			label = labels[i]
		}
		out, outLabels = append(out, r), append(outLabels, label)
	}
	return out, outLabels
}

// printPorts prints one line a published port.
func printPorts(w io.Writer, ports []portLine, notes []string) {
	for _, n := range notes {
		fmt.Fprintln(w, "note: "+n)
	}
	if len(ports) == 0 {
		fmt.Fprintln(w, "no published ports")
		return
	}
	for _, p := range ports {
		who := p.Container
		if p.Guest != "" {
			who = "-> guest " + p.Guest
		}
		if p.Service != "" {
			who += " (" + p.Service + ")"
		}
		fmt.Fprintf(w, "%-22s %-28s %-16s %s   [%s]\n", fmt.Sprintf("%s/%s", netip.AddrPortFrom(netip.MustParseAddr(p.Address), p.Port), p.Proto),
			who, strings.Join(p.Networks, ","), p.OpenTo, strings.Join(p.DecidedBy, "; "))
		if p.Warning != "" {
			fmt.Fprintln(w, "  warning: "+p.Warning)
		}
	}
}
