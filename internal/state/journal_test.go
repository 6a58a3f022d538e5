package state

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

func ruleset(t *testing.T, lines ...string) rules.Ruleset {
	t.Helper()
	rs, err := rules.ParseLines(lines...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// The journal keeps the rule set from before its first entry, then the
// newest JournalKeep sets, newest first, with what made each.
func TestJournalKeepsTheLastSets(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	prev := ruleset(t, "deny from 192.0.2.7")
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= JournalKeep+5; i++ {
		rs := append(slices.Clone(prev), ruleset(t, fmt.Sprintf("allow %d", 8000+i))...)
		if err := s.Journal(prev, rs, fmt.Sprintf("added: allow %d", 8000+i), at.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		prev = rs
	}
	h, err := s.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != JournalKeep {
		t.Fatalf("%d entries, want %d", len(h), JournalKeep)
	}
	if h[0].Number != 1 || h[0].What != fmt.Sprintf("added: allow %d", 8000+JournalKeep+5) || len(h[0].Rules) != JournalKeep+6 {
		t.Errorf("newest entry: %+v", h[0])
	}
	if !h[0].At.After(h[1].At) {
		t.Errorf("not newest first: %v then %v", h[0].At, h[1].At)
	}
}

func TestJournalFirstEntryKeepsThePolicyBefore(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	before := ruleset(t, "deny from 192.0.2.7", "allow 443")
	if err := s.Journal(before, nil, "deleted everything", time.Now()); err != nil {
		t.Fatal(err)
	}
	h, err := s.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || len(h[0].Rules) != 0 || h[1].What != "the rules before the journal" || len(h[1].Rules) != 2 {
		t.Fatalf("history: %+v", h)
	}
}

// A journal entry cut short is listed as unreadable with its file and
// line, never read as fewer rules, and the entries around it stay whole.
func TestJournalEntryCutShort(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	now := time.Now()
	for i, l := range []string{"allow 80", "allow 443 from 192.168.77.0/24", "allow 22"} {
		if err := s.Journal(nil, ruleset(t, l), "added "+l, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	names, _ := s.journalNames()
	path := filepath.Join(s.JournalPath(), names[1])
	data, _ := os.ReadFile(path)
	cut := strings.LastIndex(string(data), "/24")
	if err := os.WriteFile(path, data[:cut+2], 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := s.History()
	if err != nil || len(h) != 3 {
		t.Fatalf("history with a cut-short entry: %v %+v", err, h)
	}
	if !strings.Contains(h[1].Unreadable, path+" line ") || len(h[1].Rules) != 0 || h[1].What != "added allow 443 from 192.168.77.0/24" {
		t.Errorf("the cut-short entry: %+v", h[1])
	}
	if h[0].Unreadable != "" || h[0].Text[0] != "allow 22" || h[2].Unreadable != "" || h[2].Text[0] != "allow 80" {
		t.Errorf("the whole entries: %+v %+v", h[0], h[2])
	}
}
