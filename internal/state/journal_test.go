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

// A journal entry cut short is refused with its file and line, never read
// as fewer rules.
func TestJournalEntryCutShort(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if err := s.Journal(nil, ruleset(t, "allow 443 from 192.168.77.0/24"), "added", time.Now()); err != nil {
		t.Fatal(err)
	}
	names, _ := s.journalNames()
	path := filepath.Join(s.JournalPath(), names[0])
	data, _ := os.ReadFile(path)
	cut := strings.Index(string(data), "/24")
	if err := os.WriteFile(path, data[:cut+2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.History()
	if err == nil || !strings.Contains(err.Error(), path+" line ") {
		t.Fatalf("a cut-short entry: %v", err)
	}
}
