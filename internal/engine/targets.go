package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

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
//
// It says Resolve's notes on e.Out, a guest's once while it lasts (the
// watcher's passes would say it on every pass): only the goroutine that
// owns the engine (a command, the watcher's passes) calls it.
func (e *Engine) LiveLabelled(ctx context.Context, rs rules.Ruleset) (rules.Ruleset, []string) {
	out, labels, notes := e.Resolve(ctx, rs)
	for _, n := range notes.Rules {
		fmt.Fprintln(e.Out, n)
	}
	guests := make(map[string]bool, len(notes.Guests))
	for _, n := range notes.Guests {
		if !e.guestNotes[n] {
			fmt.Fprintln(e.Out, n)
		}
		guests[n] = true
	}
	e.guestNotes = guests
	return out, labels
}

// Notes are what resolving the rules found worth saying: about rules by
// name and labels, and about forwards' guests.
type Notes struct {
	Rules, Guests []string
}

// Resolve is LiveLabelled without saying anything: it writes nothing of
// the engine's and reads only what never changes after it is built (the
// store, Docker's API, the guests' managers), so a reader beside the
// watcher's passes (the metrics) calls it on the same engine, never on a
// copy.
func (e *Engine) Resolve(ctx context.Context, rs rules.Ruleset) (rules.Ruleset, []string, Notes) {
	var notes Notes
	out, labels := e.containers(ctx, rs, &notes)
	out, labels = e.forwards(ctx, out, labels, &notes)
	return out, labels, notes
}

// containers is Resolve's part for rules by container name and labels.
func (e *Engine) containers(ctx context.Context, rs rules.Ruleset, notes *Notes) (rules.Ruleset, []string) {
	labels := slices.ContainsFunc(rs, func(r rules.Rule) bool { return r.Action == rules.LabelRules })
	if !labels && !slices.ContainsFunc(rs, func(r rules.Rule) bool { return r.NamesContainer() }) {
		return rs, nil // nothing to ask Docker
	}
	var cs []docker.Container
	var tasks map[string]string
	if e.Backend.DockerAPI != nil {
		var err error
		if cs, err = e.Backend.DockerAPI.Containers(ctx); err != nil {
			notes.Rules = append(notes.Rules, fmt.Sprintf("note: Docker's API did not answer (%v): rules by container name open nothing until it does", err))
		} else if namesService(rs) {
			if tasks, err = e.Backend.DockerAPI.ServiceTasks(ctx); err != nil {
				notes.Rules = append(notes.Rules, fmt.Sprintf("note: Docker's API did not say which containers run Swarm's services (%v): "+
					"rules by service:NAME open only compose's", err))
			}
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
			lrs, err := rules.ParseLabel(value, c.ID)
			if err == nil {
				err = e.labelSets(lrs)
			}
			if err != nil {
				notes.Rules = append(notes.Rules, fmt.Sprintf("note: container %s: label %s ignored: %v", c.Name(), rules.AllowLabel, err))
				continue
			}
			for _, r := range lrs {
				all, from = append(all, r), append(from, "label of "+c.Name())
			}
		}
	}
	return plan.ExpandLabelled(all, from, Targets(cs, tasks))
}

// labelSets refuses a label's rules that name a set the state lacks: a
// container's creator names the admin's sets, never makes one (a set a
// rule names makes our chains drop what the sets table has not seen).
func (e *Engine) labelSets(lrs rules.Ruleset) error {
	for _, r := range lrs {
		if r.Set == "" {
			continue
		}
		if ok, err := e.Store.HasSet(r.Set); err != nil || !ok {
			return errors.Join(err, fmt.Errorf("no set %s", r.Set))
		}
	}
	return nil
}

// namesService says a rule of rs names a service (service:NAME).
func namesService(rs rules.Ruleset) bool {
	return slices.ContainsFunc(rs, func(r rules.Rule) bool {
		return r.NamesContainer() && strings.HasPrefix(r.Target, rules.ServicePrefix)
	})
}

// forwards is rs (labels: ExpandLabelled's) with each forward going to the
// addresses its guest has now, asked of the guest's manager once a guest
// (plan.ExpandForwards). A guest that cannot be found, or has no address,
// opens nothing, and a note says so in one line.
func (e *Engine) forwards(ctx context.Context, rs rules.Ruleset, labels []string, notes *Notes) (rules.Ruleset, []string) {
	guests := plan.Guests(rs)
	if len(guests) == 0 {
		return rs, labels
	}
	addrs := map[string][]netip.Addr{}
	for _, g := range guests {
		var as []netip.Addr
		err := errors.New("no guest manager to ask")
		if e.Guests != nil {
			as, err = e.Guests.Addrs(ctx, g)
		}
		switch {
		case err != nil:
			notes.Guests = append(notes.Guests, fmt.Sprintf("note: forward to %s opens nothing until the guest is found: %v", g, err))
		case len(as) == 0:
			notes.Guests = append(notes.Guests, fmt.Sprintf("note: guest %s has no address now: its forwards open nothing until it has one", g))
		}
		addrs[g] = as
	}
	return plan.ExpandForwards(rs, labels, addrs)
}

// Targets says what each target a rule may give resolves to, each to the
// ports Docker published for it (IPv4 and IPv6 listings of one port on
// every address once):
//   - NAME: the container of that name (Docker keeps names unique);
//   - PROJECT/SERVICE: the containers compose made for that service;
//   - service:NAME: the containers that run the tasks of Swarm's service
//     NAME as its manager lists them (tasks: container ID -> service,
//     docker.API.ServiceTasks), and, when one project alone has a compose
//     service NAME, its containers;
//   - rules.LabelTarget(ID): the container of that ID (its label's rules).
//
// A container's own labels claim a compose service; they never make it a
// container of another name, nor a Swarm task.
func Targets(cs []docker.Container, tasks map[string]string) map[string][]plan.Mapping {
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
			if p.PublicPort == 0 {
				continue
			}
			m := plan.Mapping{HostPort: p.PublicPort, ContainerPort: p.PrivatePort, Proto: p.Type}
			if a, err := netip.ParseAddr(p.IP); err == nil && !a.IsUnspecified() {
				m.HostIP = a.Unmap()
			}
			ms = append(ms, m)
		}
		add(c.Name(), ms)
		add(rules.LabelTarget(c.ID), ms)
		if s := c.Service(); s != "" {
			add(s, ms)
			svc := c.Labels[docker.ComposeServiceLabel]
			if projects[svc] == nil {
				projects[svc] = map[string]bool{}
			}
			projects[svc][c.Labels[docker.ComposeProjectLabel]] = true
		}
		if s := tasks[c.ID]; s != "" {
			add(rules.ServicePrefix+s, ms)
		}
	}
	for svc, ps := range projects {
		if len(ps) != 1 {
			continue
		}
		for p := range ps {
			add(rules.ServicePrefix+svc, out[p+"/"+svc])
		}
	}
	return out
}
