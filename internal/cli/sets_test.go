package cli

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// set load's report: the same members in another order change nothing; a
// member in, one out, a timed one made permanent and a new set each do.
func TestSetLoadDiff(t *testing.T) {
	e := func(p string, exp int64) rules.SetEntry {
		x := rules.SetEntry{Prefix: netip.MustParsePrefix(p)}
		if exp != 0 {
			x.Expires = time.Unix(exp, 0)
		}
		return x
	}
	before := []rules.SetEntry{e("192.0.2.0/24", 0), e("198.51.100.7/32", 0), e("2001:db8::/32", 1900000000)}
	for _, c := range []struct {
		name  string
		there bool
		after []rules.SetEntry
		want  setLoadResult
	}{
		{"same, reordered", true, []rules.SetEntry{e("198.51.100.7/32", 0), e("192.0.2.0/24", 0), e("2001:db8::/32", 1900000000)}, setLoadResult{}},
		{"one in, one out, one made permanent", true, []rules.SetEntry{e("192.0.2.0/24", 0), e("203.0.113.0/24", 0), e("2001:db8::/32", 0)},
			setLoadResult{Changed: true, Added: 1, Removed: 1, Retimed: 1}},
		{"a new, empty set", false, nil, setLoadResult{Changed: true, Made: true}},
	} {
		var r setLoadResult
		b := before
		if !c.there {
			b = nil
		}
		r.diff(b, c.there, c.after)
		if r != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, r, c.want)
		}
	}
}
