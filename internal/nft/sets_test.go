package nft

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// fakeSets is nft and the netlink element writer over one model of our
// sets table: the scripts applied, the sets they declare and delete, the
// forward chain's comment, and each set's intervals.
type fakeSets struct {
	there       bool
	comment     string
	edit        string
	sets        map[string][]rules.Interval
	scripts     []string
	updateErr   error
	replaced    []string
	deleteFirst bool
}

var (
	addSet     = regexp.MustCompile(`(?m)^add set inet \S+ (\S+) `)
	delSet     = regexp.MustCompile(`(?m)^delete set inet \S+ (\S+)$`)
	setComment = regexp.MustCompile(`comment "(` + rules.SetsCommentPrefix + `[^"]*)"`)
)

func (f *fakeSets) Run(_ context.Context, name string, args []string, stdin []byte) ([]byte, error) {
	switch cmd := strings.Join(append([]string{name}, args...), " "); {
	case cmd == "nft -f -":
		script := string(stdin)
		if f.deleteFirst {
			// Someone deletes the table between our read and our write.
			f.deleteFirst, f.there, f.comment, f.sets = false, false, "", nil
		}
		if !f.there && !strings.Contains(script, "add table inet "+rules.SetsTable) && !strings.Contains(script, "delete table") {
			return nil, errors.New("nft: Error: Could not process rule: No such file or directory")
		}
		f.scripts = append(f.scripts, script)
		f.edit = ""
		if strings.Contains(script, "delete table inet "+rules.SetsTable) {
			f.there, f.comment, f.sets = false, "", nil
			return nil, nil
		}
		f.there = true
		if f.sets == nil {
			f.sets = map[string][]rules.Interval{}
		}
		for _, m := range addSet.FindAllStringSubmatch(script, -1) {
			if _, ok := f.sets[m[1]]; !ok {
				f.sets[m[1]] = nil
			}
		}
		for _, m := range delSet.FindAllStringSubmatch(script, -1) {
			delete(f.sets, m[1])
		}
		if m := setComment.FindStringSubmatch(script); m != nil {
			f.comment = m[1]
		}
		return nil, nil
	}
	return nil, errors.New("unexpected: " + name + " " + strings.Join(args, " "))
}

func (f *fakeSets) Listing() (string, bool, error) {
	if !f.there {
		return "", false, nil
	}
	return `chain forward rule meta mark set meta mark | 0x02000000 comment "` + f.comment + `"` + "\n" + f.edit, true, nil
}

func (f *fakeSets) Sets() ([]string, bool, error) {
	var out []string
	for n := range f.sets {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, f.there, nil
}

func (f *fakeSets) Replace(name string, v4, v6 []rules.Interval, _ time.Time) error {
	f.replaced = append(f.replaced, name)
	f.sets[name+"-v4"], f.sets[name+"-v6"] = v4, v6
	return nil
}

func (f *fakeSets) Update(name string, gone, added []rules.Interval, _ time.Time) error {
	if f.updateErr != nil {
		return f.updateErr
	}
	for _, iv := range gone {
		n := name + "-v4"
		if iv.First.Is6() {
			n = name + "-v6"
		}
		i := slices.Index(f.sets[n], iv)
		if i < 0 {
			return errors.New("no such element") // the kernel's ENOENT
		}
		f.sets[n] = slices.Delete(f.sets[n], i, i+1)
	}
	for _, iv := range added {
		n := name + "-v4"
		if iv.First.Is6() {
			n = name + "-v6"
		}
		// The kernel takes an element it holds already as no change.
		if !slices.Contains(f.sets[n], iv) {
			f.sets[n] = append(f.sets[n], iv)
		}
	}
	return nil
}

func entry(p string) rules.SetEntry { return rules.SetEntry{Prefix: netip.MustParsePrefix(p)} }

// Ensure makes the table and fills each new set once, leaves a current
// table alone, deletes the sets no longer in the state and the table when
// no set is left; Change sends the difference, and the whole set when the
// kernel no longer holds what went.
func TestSetsEnsureAndChange(t *testing.T) {
	ctx := context.Background()
	f := &fakeSets{}
	s := Sets{Runner: f, Elements: f, Sums: Sums{Dir: t.TempDir()}}
	rs := rules.Ruleset{{Action: rules.Deny, Set: "bad"}}
	members := map[string][]rules.SetEntry{"bad": {entry("192.0.2.0/24"), entry("2001:db8::/32")}, "spare": nil}
	load := func(n string) ([]rules.SetEntry, error) { return members[n], nil }
	if changed, err := s.Ensure(ctx, rs, []string{"bad", "spare"}, nil, load); err != nil || !changed {
		t.Fatalf("first ensure: %v %v", changed, err)
	}
	// Each kernel set holds its sentinel besides its entries, the empty
	// one too: a set flushed by hand lacks it.
	if len(f.sets["bad-v4"]) != 2 || len(f.sets["bad-v6"]) != 2 || !slices.Equal(f.replaced, []string{"bad", "spare"}) ||
		len(f.sets["spare-v4"]) != 1 || f.sets["spare-v4"][0].First.String() != rules.SetSentinelV4 ||
		len(f.sets["spare-v6"]) != 1 || f.sets["spare-v6"][0].First.String() != rules.SetSentinelV6 {
		t.Errorf("sets %v, replaced %v", f.sets, f.replaced)
	}
	if changed, err := s.Ensure(ctx, rs, []string{"bad", "spare"}, nil, load); err != nil || changed || len(f.scripts) != 1 {
		t.Errorf("a current table was written again: %v %v (%d scripts)", changed, err, len(f.scripts))
	}
	// A deny taken out by hand (nft delete rule) keeps the comment: the
	// chains are written again, the elements left alone.
	f.edit = "chain sources { }"
	if changed, err := s.Ensure(ctx, rs, []string{"bad", "spare"}, nil, load); err != nil || !changed || len(f.scripts) != 2 || len(f.replaced) != 2 {
		t.Errorf("a hand edit: changed %v, %v, %d scripts, replaced %v", changed, err, len(f.scripts), f.replaced)
	}
	// A rule change rewrites the chains, not the elements.
	rs = append(rs, rules.Rule{Action: rules.Allow, Ports: rules.Ports{First: 443, Last: 443}, Set: "spare"})
	if changed, _ := s.Ensure(ctx, rs, []string{"bad", "spare"}, nil, load); !changed || len(f.replaced) != 2 || len(f.sets["bad-v4"]) != 2 {
		t.Errorf("rule change: sets %v, replaced %v", f.sets, f.replaced)
	}
	// Change: one more network goes in as one interval.
	after := append(slices.Clone(members["bad"]), entry("198.51.100.7/32"))
	if err := s.Change("bad", members["bad"], after); err != nil || len(f.sets["bad-v4"]) != 3 || len(f.replaced) != 2 {
		t.Errorf("change: %v, sets %v, replaced %v", err, f.sets, f.replaced)
	}
	// The kernel timed an element out: the set is written whole.
	f.sets["bad-v4"] = f.sets["bad-v4"][:2]
	if err := s.Change("bad", after, members["bad"]); err != nil || f.replaced[len(f.replaced)-1] != "bad" || len(f.sets["bad-v4"]) != 2 {
		t.Errorf("change after a timeout: %v, sets %v", err, f.sets)
	}
	// The table is deleted between the read and the write: the write fails
	// (it makes no table), the second round makes it whole and fills it.
	f.deleteFirst = true
	rs = rs[:1]
	if changed, err := s.Ensure(ctx, rs, []string{"bad", "spare"}, nil, load); err != nil || !changed || len(f.sets["bad-v4"]) != 2 {
		t.Errorf("table deleted meanwhile: %v %v, sets %v", changed, err, f.sets)
	}
	// spare leaves the state: its nftables sets go.
	if _, err := s.Ensure(ctx, rs[:1], []string{"bad"}, nil, load); err != nil || f.sets["spare-v4"] != nil || !strings.Contains(f.scripts[len(f.scripts)-1], "delete set inet "+rules.SetsTable+" spare-v4") {
		t.Errorf("spare kept: %v %v", err, f.sets)
	}
	// No set and no rule: no table.
	if changed, err := s.Ensure(ctx, nil, nil, nil, load); err != nil || !changed || f.there {
		t.Errorf("no set: %v %v, table there %v", changed, err, f.there)
	}
}

// A set whose state cannot be read (its file lost) is never declared in
// the kernel empty: the table is left as it was (no table: our chains drop
// what it has not marked), and the error says which set.
func TestSetsEnsureReadsBeforeItWrites(t *testing.T) {
	ctx := context.Background()
	f := &fakeSets{}
	s := Sets{Runner: f, Elements: f, Sums: Sums{Dir: t.TempDir()}}
	rs := rules.Ruleset{{Action: rules.Deny, Set: "bad"}}
	lost := errors.New("set bad: its file is missing")
	load := func(string) ([]rules.SetEntry, error) { return nil, lost }
	if _, err := s.Ensure(ctx, rs, []string{"bad"}, nil, load); !errors.Is(err, lost) {
		t.Errorf("ensure with a set that cannot be read: %v", err)
	}
	if f.there || len(f.scripts) != 0 {
		t.Errorf("the table was written (%d scripts): sets %v", len(f.scripts), f.sets)
	}
}

// A table written by a version without sentinels (or a set flushed by
// hand): when the chains are written again, every set there gets its
// sentinel first, its other elements left as they are.
func TestSetsEnsureAddsSentinels(t *testing.T) {
	ctx := context.Background()
	old := rules.Interval{First: netip.MustParseAddr("192.0.2.0"), Last: netip.MustParseAddr("192.0.2.255")}
	f := &fakeSets{there: true, comment: "ufw-docker-bridge sets old", sets: map[string][]rules.Interval{"bad-v4": {old}, "bad-v6": nil}}
	s := Sets{Runner: f, Elements: f, Sums: Sums{Dir: t.TempDir()}}
	load := func(string) ([]rules.SetEntry, error) { return []rules.SetEntry{entry("192.0.2.0/24")}, nil }
	if changed, err := s.Ensure(ctx, rules.Ruleset{{Action: rules.Deny, Set: "bad"}}, []string{"bad"}, nil, load); err != nil || !changed {
		t.Fatalf("ensure over an old table: %v %v", changed, err)
	}
	if v4 := f.sets["bad-v4"]; len(v4) != 2 || v4[0] != old || v4[1].First.String() != rules.SetSentinelV4 ||
		len(f.sets["bad-v6"]) != 1 || len(f.replaced) != 0 {
		t.Errorf("sets %v, replaced %v", f.sets, f.replaced)
	}
	// The kernel refuses the sentinel alone (an entry covers 0.0.0.0, held
	// merged): the set is loaded again whole.
	f.updateErr = errors.New("interval overlaps with an existing one")
	rs := rules.Ruleset{{Action: rules.Deny, Set: "bad"}, {Action: rules.Deny, Set: "bad", HostToo: true}}
	if _, err := s.Ensure(ctx, rs, []string{"bad"}, nil, load); err != nil || !slices.Equal(f.replaced, []string{"bad"}) {
		t.Errorf("a sentinel refused: %v, replaced %v", err, f.replaced)
	}
}
