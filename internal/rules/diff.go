package rules

import "fmt"

// DiffChains compares the named chains of live against want and describes
// each difference in a line; nil means they hold the same rules.
func DiffChains(want, live *Table, names ...string) []string {
	var out []string
	for _, name := range names {
		w, l := want.Chain(name), live.Chain(name)
		switch {
		case w == nil:
			continue
		case l == nil:
			out = append(out, fmt.Sprintf("chain %s is missing", name))
			continue
		}
		n := max(len(w.Rules), len(l.Rules))
		for i := 0; i < n; i++ {
			switch {
			case i >= len(l.Rules):
				out = append(out, fmt.Sprintf("%s rule %d is missing: %s", name, i+1, w.Rules[i]))
			case i >= len(w.Rules):
				out = append(out, fmt.Sprintf("%s rule %d is extra: %s", name, i+1, l.Rules[i]))
			case w.Rules[i] != l.Rules[i]:
				out = append(out, fmt.Sprintf("%s rule %d differs: want %q, live %q", name, i+1, w.Rules[i], l.Rules[i]))
			}
		}
	}
	return out
}

// JumpPosition returns the 1-based position of the first rule of chain from
// that jumps to chain to, or 0 when there is none.
func JumpPosition(t *Table, from, to string) int {
	c := t.Chain(from)
	if c == nil {
		return 0
	}
	for i, r := range c.Rules {
		if r == "-j "+to {
			return i + 1
		}
	}
	return 0
}
