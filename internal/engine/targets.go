package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// swarmServiceLabel names the Swarm service of a task's container.
const swarmServiceLabel = "com.docker.swarm.service.name"

// Live is rs as the kernel and the files get it (LiveLabelled).
func (e *Engine) Live(ctx context.Context, rs rules.Ruleset) rules.Ruleset {
	out, _ := e.LiveLabelled(ctx, rs)
	return out
}

// LiveLabelled is rs as the kernel and the files get it: rules that name a
// container or a service become host-port rules for the ports Docker
// publishes for it now (plan.ExpandLabelled), asked of Docker's API; with
// "label-rules on", so do the rules of the containers' labels
// (rules.AllowLabel), after the user's. With each rule comes where it
// comes from ("2: allow 80 to web", "label of web: allow 443 to web").
// Without an answer from the API those rules render nothing (closed), and
// the command says so in one line; a label that does not read is ignored
// whole and named. Where no rule names a target and labels are off, rs
// comes back as it is, without labels (plan.ExpandLabelled).
//
// Forwards then go to the addresses their guests have now (forwards).
func (e *Engine) LiveLabelled(ctx context.Context, rs rules.Ruleset) (rules.Ruleset, []string) {
	out, labels := e.containers(ctx, rs)
	return e.forwards(ctx, out, labels)
}

// containers is LiveLabelled's part for rules by container name and labels.
func (e *Engine) containers(ctx context.Context, rs rules.Ruleset) (rules.Ruleset, []string) {
	labels := slices.ContainsFunc(rs, func(r rules.Rule) bool { return r.Action == rules.LabelRules })
	if !labels && !slices.ContainsFunc(rs, func(r rules.Rule) bool { return r.NamesContainer() }) {
		return rs, nil // nothing to ask Docker
	}
	var cs []docker.Container
	if e.Backend.DockerAPI != nil {
		var err error
		if cs, err = e.Backend.DockerAPI.Containers(ctx); err != nil {
			fmt.Fprintf(e.Out, "note: Docker's API did not answer (%v): rules by container name open nothing until it does\n", err)
		}
	}
	all := slices.Clone(rs)
	from := make([]string, len(rs)) // list numbers for the user's rules
	if labels {
		for _, c := range cs {
			value, ok := c.Labels[rules.AllowLabel]
			if !ok {
				continue
			}
			lrs, err := rules.ParseLabel(value, c.Name())
			if err != nil {
				fmt.Fprintf(e.Out, "note: container %s: label %s ignored: %v\n", c.Name(), rules.AllowLabel, err)
				continue
			}
			for _, r := range lrs {
				all, from = append(all, r), append(from, "label of "+c.Name())
			}
		}
	}
	return plan.ExpandLabelled(all, from, Targets(cs))
}

// forwards is rs (labels: ExpandLabelled's) with each forward going to the
// addresses its guest has now, asked of the guest's manager once a guest
// (plan.ExpandForwards). A guest that cannot be found, or has no address,
// opens nothing, and the command says so in one line.
func (e *Engine) forwards(ctx context.Context, rs rules.Ruleset, labels []string) (rules.Ruleset, []string) {
	guests := plan.Guests(rs)
	if len(guests) == 0 {
		return rs, labels
	}
	addrs := map[string][]netip.Addr{}
	notes := map[string]bool{}
	for _, g := range guests {
		var as []netip.Addr
		err := errors.New("no guest manager to ask")
		if e.Guests != nil {
			as, err = e.Guests.Addrs(ctx, g)
		}
		switch {
		case err != nil:
			notes[fmt.Sprintf("note: forward to %s opens nothing until the guest is found: %v", g, err)] = true
		case len(as) == 0:
			notes[fmt.Sprintf("note: guest %s has no address now: its forwards open nothing until it has one", g)] = true
		}
		addrs[g] = as
	}
	// The watcher's passes say a note once, not on every pass.
	for n := range notes {
		if !e.guestNotes[n] {
			fmt.Fprintln(e.Out, n)
		}
	}
	e.guestNotes = notes
	return plan.ExpandForwards(rs, labels, addrs)
}

// Targets says what each name a rule may give resolves to: a container's
// name, a compose service as "project/service" and, when one project alone
// has it, as "service", and a Swarm service's name; each to the ports
// Docker published for it (IPv4 and IPv6 listings of one port once).
func Targets(cs []docker.Container) map[string][]plan.Mapping {
	out := map[string][]plan.Mapping{}
	projects := map[string]map[string]bool{} // service -> projects
	add := func(name string, ms []plan.Mapping) {
		for _, m := range ms {
			if !slices.Contains(out[name], m) {
				out[name] = append(out[name], m)
			}
		}
	}
	for _, c := range cs {
		var ms []plan.Mapping
		for _, p := range c.Ports {
			if p.PublicPort != 0 {
				ms = append(ms, plan.Mapping{HostPort: p.PublicPort, ContainerPort: p.PrivatePort, Proto: p.Type})
			}
		}
		add(c.Name(), ms)
		if s := c.Service(); s != "" {
			add(s, ms)
			svc := c.Labels[docker.ComposeServiceLabel]
			if projects[svc] == nil {
				projects[svc] = map[string]bool{}
			}
			projects[svc][c.Labels[docker.ComposeProjectLabel]] = true
		}
		if s := c.Labels[swarmServiceLabel]; s != "" {
			add(s, ms)
		}
	}
	for svc, ps := range projects {
		if len(ps) != 1 {
			continue
		}
		for p := range ps {
			add(svc, out[p+"/"+svc])
		}
	}
	return out
}
