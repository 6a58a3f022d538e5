// Package state keeps the user's rules in the state directory, the single
// source of truth from which every block and live rule is rendered, and the
// lock that serialises every writer.
package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/atomicfile"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// RulesFile is the name of the rules file inside the state directory;
// DefaultDir is the state directory the package installs.
const (
	RulesFile  = "rules"
	DefaultDir = "/etc/ufw-docker-bridge"
)

// Store is the state directory.
type Store struct {
	Dir string
}

// RulesPath is the path of the rules file.
func (s Store) RulesPath() string { return filepath.Join(s.Dir, RulesFile) }

// BackupDir is where the previous version of each file we rewrite is kept.
func (s Store) BackupDir() string { return filepath.Join(s.Dir, "backup") }

const header = formatLine + `
# ufw-docker-bridge rules: one rule a line, as typed after the command:
#   allow PORT[:PORT][/tcp|/udp] [from CIDR|ADDR|any]
#   deny [PORT[:PORT][/tcp|/udp]] from CIDR|ADDR
#   forward HOSTPORT[/tcp|/udp] to GUEST[:PORT] [from CIDR|ADDR]
#   bridge NAME[+] include|exclude|nat-off
# allow, deny and forward may end with: comment 'TEXT'
# Written by ufw-docker-bridge; a line it cannot read is refused with its number.
# Rules go above the last line, which marks the end: a file cut short is refused.
`

// formatLine says that the file ends with endLine; a file that says so and
// lacks it was cut short (a full disk, a crash of another writer, a copy
// that stopped), and is refused rather than read as fewer or wider rules.
// Files written before it (no formatLine) are read as they are.
const (
	formatLine = "# format: 2"
	endLine    = "# end of rules"
	// legacyFirstLine began the files written before formatLine.
	legacyFirstLine = "# ufw-docker-bridge rules: one rule a line, as typed after the command:"
)

// Load reads the rules; a missing file is an empty rule set (whether that
// may be, the installed record decides: see the engine), a link to nothing
// an error. A line that is not a rule is an error naming the file and line.
func (s Store) Load() (rules.Ruleset, error) {
	data, err := os.ReadFile(s.RulesPath())
	if errors.Is(err, fs.ErrNotExist) && !s.RulesMissing() {
		return nil, fmt.Errorf("reading rules: %s is a link to nothing: it is not read as no rules", s.RulesPath())
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading rules: %w", err)
	}
	return Parse(string(data), s.RulesPath())
}

// FileError is a rules file that cannot be read: a line of the file, not
// the command line, is wrong (a failure, not a usage error, even where the
// line is a rule's syntax error).
type FileError struct{ Err error }

func (e *FileError) Error() string { return e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Parse reads a rules file's text; name is used in errors, which are
// FileErrors. A file in format 2 must end with its end line: one that does
// not was cut short.
func Parse(text, name string) (rules.Ruleset, error) {
	rs, err := parse(text, name)
	if err != nil {
		return nil, &FileError{err}
	}
	return rs, nil
}

func parse(text, name string) (rules.Ruleset, error) {
	var rs rules.Ruleset
	lines := strings.Split(text, "\n")
	formatted, ended := false, false
	for i, line := range lines {
		line = strings.TrimSpace(line)
		switch {
		case line == formatLine:
			formatted = true
			continue
		case line == endLine:
			ended = true
			continue
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case ended:
			return nil, fmt.Errorf("%s line %d: a rule after the end line %q (move it above)", name, i+1, endLine)
		}
		r, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, i+1, err)
		}
		if rs.Index(r) >= 0 {
			return nil, fmt.Errorf("%s line %d: duplicate rule %q", name, i+1, r)
		}
		if x, taken := rs.ForwardOf(r); r.Action == rules.Forward && taken {
			return nil, fmt.Errorf("%s line %d: host port %s is forwarded already by %q", name, i+1, r.Ports, x)
		}
		rs = append(rs, r)
	}
	// A file with no rule and without the format line that every file we
	// wrote since starts with is cut short too (emptied, or cut inside its
	// first line), unless it is a whole file from before the format line.
	if !formatted && len(rs) == 0 && !strings.HasPrefix(text, legacyFirstLine+"\n") {
		return nil, fmt.Errorf("%s line 1: the file is empty or cut short before its first rule: it is not read as no rules; "+
			"nothing was applied and the live rules stay as they are", name)
	}
	if formatted && !ended {
		return nil, fmt.Errorf("%s line %d: the file ends before its end line %q: it was cut short and is not read as fewer or wider rules; "+
			"nothing was applied and the live rules stay as they are (complete the file, ending it with that line)", name, len(lines), endLine)
	}
	return rs, nil
}

// ParsePolicy reads a policy that apply makes the whole policy: a rules
// file in format 2, its end line included. A policy without them could
// have been cut anywhere, after any of its lines, and read as fewer rules:
// it is refused (Parse reads the files from before format 2 too, but
// those are ours, not input).
func ParsePolicy(text, name string) (rules.Ruleset, error) {
	first, _, _ := strings.Cut(strings.TrimLeft(text, " \t\n"), "\n")
	if strings.TrimSpace(first) != formatLine {
		return nil, &FileError{fmt.Errorf("%s line 1: a policy starts with %q and ends with %q, so that one cut short is refused "+
			"(`ufw-docker-bridge export` prints one; wrap the rules in those two lines)", name, formatLine, endLine)}
	}
	return Parse(text, name)
}

// Format returns the text Save writes for rs.
func Format(rs rules.Ruleset) string {
	var b strings.Builder
	b.WriteString(header)
	for _, r := range rs {
		b.WriteString(r.String() + "\n")
	}
	b.WriteString(endLine + "\n")
	return b.String()
}

// Save replaces the rules file atomically.
func (s Store) Save(rs rules.Ruleset) error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	if err := atomicfile.Write(s.RulesPath(), []byte(Format(rs)), 0o644); err != nil {
		return fmt.Errorf("saving rules: %w", err)
	}
	return nil
}

// parseLine reads one rule line, its comment in single quotes.
func parseLine(line string) (rules.Rule, error) {
	words, err := rules.Fields(line)
	if err != nil {
		return rules.Rule{}, err
	}
	return rules.Parse(words)
}
