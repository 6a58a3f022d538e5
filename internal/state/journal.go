package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/atomicfile"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// JournalDir is the directory, inside the state directory, that keeps the
// last JournalKeep rule sets, one file each, named by the time it was made
// (UTC, sortable), each a whole rules file with a line saying what made it.
const (
	JournalDir  = "journal"
	JournalKeep = 20
	// journalTime names the files: sortable, and unique to the nanosecond.
	journalTime = "20060102T150405.000000000Z"
	journalExt  = ".rules"
	whatPrefix  = "# made by: "
)

// Entry is one rule set of the journal: Number 1 is the newest.
type Entry struct {
	Number int           `json:"number"`
	At     time.Time     `json:"at"`
	What   string        `json:"what"`
	Rules  rules.Ruleset `json:"-"`
	Text   []string      `json:"rules"`
	// Unreadable says why the entry cannot be read (cut short, edited into
	// nonsense); it has no rules then, and restore refuses it.
	Unreadable string `json:"unreadable,omitempty"`
}

// JournalPath is the journal's directory.
func (s Store) JournalPath() string { return filepath.Join(s.Dir, JournalDir) }

// Journal adds rule set rs, made by what at time at, to the journal and
// drops the oldest entries beyond JournalKeep. A journal still empty gets
// the rule set before it first (prev, "before the journal"), so that the
// policy from before the first change stays recoverable.
func (s Store) Journal(prev, rs rules.Ruleset, what string, at time.Time) error {
	before, err := s.journalNames()
	if err != nil {
		return err
	}
	if len(before) == 0 && len(prev) > 0 {
		if err := s.journalOne(prev, "the rules before the journal", at.Add(-time.Nanosecond)); err != nil {
			return err
		}
	}
	if err := s.journalOne(rs, what, at); err != nil {
		return err
	}
	names, err := s.journalNames()
	if err != nil {
		return err
	}
	for len(names) > JournalKeep {
		if err := os.Remove(filepath.Join(s.JournalPath(), names[0])); err != nil {
			return fmt.Errorf("pruning the journal: %w", err)
		}
		names = names[1:]
	}
	return nil
}

func (s Store) journalOne(rs rules.Ruleset, what string, at time.Time) error {
	if err := os.MkdirAll(s.JournalPath(), 0o755); err != nil {
		return fmt.Errorf("creating the journal: %w", err)
	}
	what = strings.Join(strings.Fields(what), " ")
	// The line saying what made it goes right after the format line: the
	// entry stays a rules file, its line numbers its own.
	text := formatLine + "\n" + whatPrefix + what + "\n" + strings.TrimPrefix(Format(rs), formatLine+"\n")
	path := filepath.Join(s.JournalPath(), at.UTC().Format(journalTime)+journalExt)
	if err := atomicfile.Write(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("writing the journal: %w", err)
	}
	return nil
}

// journalNames returns the journal's file names, oldest first.
func (s Store) journalNames() ([]string, error) {
	return regularFiles(s.JournalPath(), "the journal", func(name string) bool {
		stem, ok := strings.CutSuffix(name, journalExt)
		_, err := time.Parse(journalTime, stem)
		return ok && err == nil
	})
}

// regularFiles returns the names of the regular files of dir (or links to
// regular files: configuration kept elsewhere) that keep takes, sorted;
// none when dir is not there. what names dir in errors.
func regularFiles(dir, what string, keep func(name string) bool) ([]string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	var names []string
	for _, d := range des {
		regular := d.Type().IsRegular()
		if d.Type()&fs.ModeSymlink != 0 {
			st, err := os.Stat(filepath.Join(dir, d.Name()))
			regular = err == nil && st.Mode().IsRegular()
		}
		if regular && keep(d.Name()) {
			names = append(names, d.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// History returns the journal, newest first. An entry that cannot be read
// (cut short, edited into nonsense) is listed with why, naming its file
// and line, and without rules: restoring it must never apply fewer or
// wider rules, and the others stay restorable.
func (s Store) History() ([]Entry, error) {
	names, err := s.journalNames()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for i := len(names) - 1; i >= 0; i-- {
		path := filepath.Join(s.JournalPath(), names[i])
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the journal: %w", err)
		}
		at, _ := time.Parse(journalTime, strings.TrimSuffix(names[i], journalExt))
		e := Entry{Number: len(out) + 1, At: at, Text: []string{}}
		for _, l := range strings.Split(string(data), "\n") {
			if w, ok := strings.CutPrefix(l, whatPrefix); ok {
				e.What = w
				break
			}
		}
		if e.Rules, err = Parse(string(data), path); err != nil {
			e.Unreadable = err.Error()
		}
		for _, r := range e.Rules {
			e.Text = append(e.Text, r.String())
		}
		out = append(out, e)
	}
	return out, nil
}
