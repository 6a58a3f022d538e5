// Package shellvars reads the KEY=value files of /etc/default and their
// kin (ufw.conf, netfilter-persistent's and ferm's settings). It is pure.
package shellvars

import "strings"

// Parse returns the variables of text: KEY=value lines, quotes stripped,
// comment lines skipped, the last assignment of a key winning.
func Parse(text string) map[string]string {
	vars := map[string]string{}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			vars[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return vars
}
