package ufw

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// RouteRule is one `ufw route` rule as UFW keeps it in user.rules and
// user6.rules: the "### tuple ###" line UFW writes above its iptables lines
// ("route:allow tcp 80 172.17.0.2 any 0.0.0.0/0 in comment=HEX").
type RouteRule struct {
	Action, Proto, DPort, Dst, SPort, Src string
	// Comment is the rule's comment, decoded ("" when it has none).
	Comment string
	// File is user.rules or user6.rules.
	File string
}

// Spec is the rule as `ufw route` takes it, without the verb: "proto tcp
// from 0.0.0.0/0 to 172.17.0.2 port 80".
func (r RouteRule) Spec() []string {
	out := []string{}
	if r.Proto != "any" {
		out = append(out, "proto", r.Proto)
	}
	out = append(out, "from", r.Src)
	if r.SPort != "any" {
		out = append(out, "port", r.SPort)
	}
	out = append(out, "to", r.Dst)
	if r.DPort != "any" {
		out = append(out, "port", r.DPort)
	}
	return out
}

// RouteRules reads the route rules of UFW's user.rules and user6.rules in
// dir (a missing file has none).
func RouteRules(dir string) ([]RouteRule, error) {
	var out []RouteRule
	for _, name := range []string{"user.rules", "user6.rules"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading UFW's rules: %w", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			rest, ok := strings.CutPrefix(line, "### tuple ### route:")
			if !ok {
				continue
			}
			f := strings.Fields(rest)
			if len(f) < 6 {
				continue
			}
			r := RouteRule{Action: f[0], Proto: f[1], DPort: f[2], Dst: f[3], SPort: f[4], Src: f[5], File: name}
			for _, w := range f[6:] {
				if h, ok := strings.CutPrefix(w, "comment="); ok {
					if c, err := hex.DecodeString(h); err == nil {
						r.Comment = string(c)
					}
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}
