// Package textdiff prints the line differences between two texts, for
// --dry-run. The texts it serves are small files, so a plain LCS is enough.
package textdiff

import (
	"fmt"
	"strings"
)

// Unified returns the changed lines of a -> b with up to context unchanged
// lines around them, "-" for removed and "+" for added, under "@@ -line +line"
// headers. It returns "" when a and b are equal.
func Unified(a, b string, context int) string {
	x, y := split(a), split(b)
	// lcs[i][j] is the length of the longest common subsequence of x[i:], y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte
		text string
		ai   int
		bi   int
	}
	var ops []op
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			ops = append(ops, op{' ', x[i], i, j})
			i++
			j++
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', x[i], i, j})
			i++
		default:
			ops = append(ops, op{'+', y[j], i, j})
			j++
		}
	}
	var out strings.Builder
	last := -1 // index of the last op printed
	for k, o := range ops {
		if o.kind == ' ' {
			continue
		}
		start := max(k-context, last+1)
		if start > last+1 || last < 0 {
			fmt.Fprintf(&out, "@@ -%d +%d @@\n", ops[start].ai+1, ops[start].bi+1)
		}
		for n := start; n <= k; n++ {
			out.WriteString(string(ops[n].kind) + ops[n].text + "\n")
		}
		last = k
		for n := k + 1; n < len(ops) && n <= k+context && ops[n].kind == ' '; n++ {
			out.WriteString(" " + ops[n].text + "\n")
			last = n
		}
	}
	return out.String()
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
