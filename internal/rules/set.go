package rules

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SetMark begins a source that names an address set: "from @blocklist".
const SetMark = "@"

// setNameRe is what a set's name may be: it names a file of the state
// directory and, with a family suffix, two nftables sets.
var setNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$`)

// CheckSetName refuses a name that is not a set's (a syntax error).
func CheckSetName(name string) error {
	if !setNameRe.MatchString(name) || strings.Contains(name, "..") {
		return syntaxf("invalid set name %q: 1-32 letters, digits, '_', '.' or '-', starting with a letter or digit", name)
	}
	return nil
}

// SetEntry is one address or network of a set, until Expires (the zero
// time: for good).
type SetEntry struct {
	Prefix  netip.Prefix
	Expires time.Time
}

// String is the entry's line in the set's state file.
func (e SetEntry) String() string {
	if e.Expires.IsZero() {
		return FormatPrefix(e.Prefix)
	}
	return FormatPrefix(e.Prefix) + " expires=" + strconv.FormatInt(e.Expires.Unix(), 10)
}

// ParseSetFile reads a set's state file (SetEntry.String lines); a line it
// cannot read is an error naming it.
func ParseSetFile(text string) ([]SetEntry, error) {
	var out []SetEntry
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		addr, exp, timed := strings.Cut(line, " expires=")
		p, err := ParseSource(addr)
		if err != nil || !p.IsValid() {
			return nil, fmt.Errorf("line %d: %q is not an address or a network", n+1, line)
		}
		e := SetEntry{Prefix: p}
		if timed {
			unix, err := strconv.ParseInt(exp, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q: bad expiry", n+1, line)
			}
			e.Expires = time.Unix(unix, 0)
		}
		out = append(out, e)
	}
	return out, nil
}

// ParseSetList reads a list of addresses and networks, one a line, as block
// lists are published: '#' and ';' start comments (FireHOL's netsets,
// Spamhaus DROP's "1.10.16.0/20 ; SBL256894"), blank lines are skipped.
// A line that is not an address or a network, or a network with host bits
// set (ParseSource), is an error naming its number.
func ParseSetList(text string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		p, err := ParseSource(line)
		switch {
		case err != nil && line != "any":
			return nil, syntaxf("line %d: %s", n, strings.TrimPrefix(err.Error(), ErrSyntax.Error()+": "))
		case !p.IsValid():
			return nil, syntaxf("line %d: %q is not an address or a network", n, line)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the list: %w", err)
	}
	return out, nil
}

// Interval is a range of addresses of one family, First to Last
// inclusive, for the kernel's interval set, until Expires (zero: for good).
type Interval struct {
	First, Last netip.Addr
	Expires     time.Time
}

// Intervals merges the entries alive at now into the sorted, disjoint
// ranges of each family that the kernel's interval sets hold (they refuse
// overlaps). A merged range expires when the last of its entries does, and
// never when one of them is for good.
func Intervals(entries []SetEntry, now time.Time) (v4, v6 []Interval) {
	// Addresses as 128-bit numbers (IPv4 mapped): sorting 100,000 of
	// them so is several times faster than with netip's Compare.
	type span struct {
		first, last u128
		expires     int64 // Unix seconds, 0 for good: no pointer for the GC to follow
	}
	all := make([]span, 0, len(entries))
	for _, e := range entries {
		if !e.Expires.IsZero() && !e.Expires.After(now) {
			continue
		}
		var exp int64
		if !e.Expires.IsZero() {
			exp = e.Expires.Unix()
		}
		all = append(all, span{first: u128of(e.Prefix.Addr()), last: u128of(lastAddr(e.Prefix)), expires: exp})
	}
	slices.SortFunc(all, func(a, b span) int {
		if c := a.first.cmp(b.first); c != 0 {
			return c
		}
		return b.last.cmp(a.last)
	})
	var out []span
	for _, sp := range all {
		if n := len(out); n > 0 && out[n-1].last.cmp(sp.first) >= 0 {
			last := &out[n-1]
			if sp.last.cmp(last.last) > 0 {
				last.last = sp.last
			}
			if last.expires == 0 || sp.expires == 0 {
				last.expires = 0
			} else {
				last.expires = max(last.expires, sp.expires)
			}
			continue
		}
		out = append(out, sp)
	}
	for _, sp := range out {
		iv := Interval{First: sp.first.addr(), Last: sp.last.addr()}
		if sp.expires != 0 {
			iv.Expires = time.Unix(sp.expires, 0)
		}
		if iv.First.Is4() {
			v4 = append(v4, iv)
		} else {
			v6 = append(v6, iv)
		}
	}
	return v4, v6
}

// u128 is an address as a number, IPv4 in its IPv4-mapped IPv6 form: the
// families never meet (no IPv6 entry is IPv4-mapped: ParseSource refuses
// them).
type u128 struct{ hi, lo uint64 }

func u128of(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (u u128) cmp(v u128) int {
	switch {
	case u.hi != v.hi:
		return cmp.Compare(u.hi, v.hi)
	}
	return cmp.Compare(u.lo, v.lo)
}

func (u u128) addr() netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], u.hi)
	binary.BigEndian.PutUint64(b[8:], u.lo)
	return netip.AddrFrom16(b).Unmap()
}

// lastAddr is the last address of network p.
func lastAddr(p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		b := p.Addr().As4()
		for i := p.Bits(); i < 32; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		return netip.AddrFrom4(b)
	}
	b := p.Addr().As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}
