package rules

import (
	"fmt"
)

// Ruleset is the user's rules in the order they were added; list numbers
// them from 1.
type Ruleset []Rule

// Index returns the position of r, or -1; comments and owners do not
// count.
func (rs Ruleset) Index(r Rule) int {
	r.Comment, r.Owner = "", ""
	for i, x := range rs {
		if x.Comment, x.Owner = "", ""; x == r {
			return i
		}
	}
	return -1
}

// Add returns the set with r appended, and false when r was there already.
// A rule that is there with another comment or owner takes r's, in place
// (the admin who adds a tool's rule again makes it the admin's).
func (rs Ruleset) Add(r Rule) (Ruleset, bool) {
	i := rs.Index(r)
	if i >= 0 && rs[i].Comment == r.Comment && rs[i].Owner == r.Owner {
		return rs, false
	}
	out := append(Ruleset{}, rs...)
	if i >= 0 {
		out[i] = r
		return out, true
	}
	return append(out, r), true
}

// Delete returns the set without r; it fails when r is not there.
func (rs Ruleset) Delete(r Rule) (Ruleset, error) {
	i := rs.Index(r)
	if i < 0 {
		return rs, fmt.Errorf("no such rule: %s", r)
	}
	return rs.DeleteAt(i + 1)
}

// DeleteAt returns the set without rule number n (1-based, as list shows).
func (rs Ruleset) DeleteAt(n int) (Ruleset, error) {
	if n < 1 || n > len(rs) {
		return rs, fmt.Errorf("no rule number %d (there are %d)", n, len(rs))
	}
	out := append(Ruleset{}, rs[:n-1]...)
	return append(out, rs[n:]...), nil
}

// Of returns the rules with the given action, in order.
func (rs Ruleset) Of(a Action) Ruleset {
	var out Ruleset
	for _, r := range rs {
		if r.Action == a {
			out = append(out, r)
		}
	}
	return out
}

// Policy returns the admin's rules of rs: those no tool owns.
func (rs Ruleset) Policy() Ruleset {
	var out Ruleset
	for _, r := range rs {
		if r.Owner == "" {
			out = append(out, r)
		}
	}
	return out
}

// Owned returns the rules of rs that a tool owns (Rule.Owner).
func (rs Ruleset) Owned() Ruleset {
	var out Ruleset
	for _, r := range rs {
		if r.Owner != "" {
			out = append(out, r)
		}
	}
	return out
}

// WithOwned returns policy, the admin's whole policy (apply, restore), with
// the rules a tool owns in rs after it: a policy replaces the admin's rules,
// never a tool's. A tool's rule the policy also holds is the policy's.
func (rs Ruleset) WithOwned(policy Ruleset) Ruleset {
	out := policy.Policy()
	for _, r := range rs.Owned() {
		if out.Index(r) < 0 {
			out = append(out, r)
		}
	}
	return out
}

// ParseLines parses rules written one a line, as typed after the command;
// the first line that is not a rule is the error.
func ParseLines(lines ...string) (Ruleset, error) {
	var rs Ruleset
	for _, l := range lines {
		words, err := Fields(l)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", l, err)
		}
		r, err := Parse(words)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", l, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}
