package rules

import (
	"fmt"
	"strings"
)

// LabelRules is the action of the setting that turns containers' labels
// into rules ("label-rules on"); without it labels are ignored, since
// whoever can start containers could then open ports.
const LabelRules Action = "label-rules"

// LabelRulesOn is the rule line of the setting.
const LabelRulesOn = "label-rules on"

// AllowLabel is the container label whose value is a list of allow rules
// for that container: "443, 80/tcp from 10.0.0.0/8".
const AllowLabel = "ufw-docker-bridge.allow"

// ParseLabel reads the value of a container's AllowLabel into rules that
// name the container by its ID (LabelTarget): a label opens the ports of
// the container that carries it, never another's that shares its name
// with a service. Items are separated by commas, each
// "[PORT[:PORT][/tcp|/udp]] [from CIDR|ADDR|@SET]", PORT the container's. A
// value with one bad item is refused whole: a label is never half-applied.
func ParseLabel(value, containerID string) (Ruleset, error) {
	var out Ruleset
	for i, item := range strings.Split(value, ",") {
		words := strings.Fields(item)
		if len(words) == 0 {
			return nil, syntaxf("item %d of %q is empty", i+1, value)
		}
		// "to" and --host-too are not a label's to give: the container is
		// the target, and the host's ports are not its.
		for _, w := range words {
			if w == "to" || w == HostTooWord {
				return nil, syntaxf("item %d of %q: %q is not allowed in a label", i+1, value, w)
			}
		}
		spec := append([]string{string(Allow)}, words[:1]...)
		if words[0] == "from" {
			spec = []string{string(Allow)}
		} else {
			words = words[1:]
		}
		// The rule is read with a stand-in name, then given the ID.
		spec = append(append(spec, "to", "container"), words...)
		r, err := Parse(spec)
		if err != nil {
			return nil, fmt.Errorf("item %d of %q: %w", i+1, value, err)
		}
		r.Target = LabelTarget(containerID)
		out = append(out, r)
	}
	return out, nil
}
