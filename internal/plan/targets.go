package plan

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// Mapping is one port Docker published for a container: its host port,
// the container's port behind it, the protocol, and the host address it is
// published on (invalid: every address).
type Mapping struct {
	HostPort, ContainerPort uint16
	Proto                   string
	HostIP                  netip.Addr
}

// Expand returns rs with every rule that names a container or a service
// (rules.Rule.Target) replaced, where it stands, by host-port rules: one per
// port Docker published for the target (targets: what each name resolves
// to now) that the rule's ports (container ports) and protocol take, with
// the rule's source, on the host address it is published on. A port
// published on loopback is the host's alone and renders nothing; so does a
// target that publishes nothing, or is not there: the rule waits for it.
func Expand(rs rules.Ruleset, targets map[string][]Mapping) rules.Ruleset {
	out, _ := ExpandLabelled(rs, nil, targets)
	return out
}

// ExpandLabelled is Expand that also says, for each rule it returns, the
// rule of rs it comes from: as list shows it ("2: allow 80 to web"), or,
// for rs[i] with i < len(from) and from[i] not "", as "FROM: rule". When no
// rule names a target and from is empty, rs itself comes back, without
// labels: its rules read as list shows them (the watcher's every pass and
// every command take this way).
func ExpandLabelled(rs rules.Ruleset, from []string, targets map[string][]Mapping) (rules.Ruleset, []string) {
	if len(from) == 0 && !slices.ContainsFunc(rs, func(r rules.Rule) bool { return r.NamesContainer() }) {
		return rs, nil
	}
	out := make(rules.Ruleset, 0, len(rs))
	var labels []string
	for i, r := range rs {
		label := fmt.Sprintf("%d: %s", i+1, r)
		if i < len(from) && from[i] != "" {
			label = from[i] + ": " + r.String()
		}
		if !r.NamesContainer() {
			out, labels = append(out, r), append(labels, label)
			continue
		}
		for _, m := range targets[r.Target] {
			if !r.Ports.Any() && (m.ContainerPort < r.Ports.First || m.ContainerPort > r.Ports.Last) ||
				r.Proto != rules.ProtoAny && string(r.Proto) != m.Proto || m.HostIP.IsLoopback() {
				continue
			}
			x := rules.Rule{Action: rules.Allow, Ports: rules.Ports{First: m.HostPort, Last: m.HostPort}, Proto: rules.Proto(m.Proto),
				Source: r.Source, Set: r.Set, Comment: r.Comment, HostAddr: m.HostIP}
			if !slices.Contains(out, x) {
				out, labels = append(out, x), append(labels, label)
			}
		}
	}
	return out, labels
}
