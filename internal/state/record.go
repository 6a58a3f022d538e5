package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/atomicfile"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/shellvars"
)

// RecordFile is the installed record's name inside the state directory:
// written by install, removed by uninstall. It, not the presence of our
// block in a file that another tool may replace (ufw reset, a package's
// copy), says that we are installed.
const RecordFile = "installed"

// Record is what install recorded: the backend (ufw, firewalld or
// iptables) and the directory of the files our blocks live in.
type Record struct {
	Backend string
	Dir     string
}

// RecordPath is the installed record's path.
func (s Store) RecordPath() string { return filepath.Join(s.Dir, RecordFile) }

// Record returns the installed record, and false when there is none (not
// installed, or installed by a version before the record).
func (s Store) Record() (Record, bool, error) {
	data, err := os.ReadFile(s.RecordPath())
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("reading the installed record: %w", err)
	}
	v := shellvars.Parse(string(data))
	r := Record{Backend: v["BACKEND"], Dir: v["DIR"]}
	if r.Backend == "" || r.Dir == "" {
		return Record{}, false, fmt.Errorf("%s: damaged (no BACKEND or DIR): install again to rewrite it", s.RecordPath())
	}
	return r, true, nil
}

// SaveRecord writes the installed record atomically.
func (s Store) SaveRecord(r Record) error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	text := fmt.Sprintf("# ufw-docker-bridge is installed: written by install, removed by uninstall.\nBACKEND=%s\nDIR=%s\n", r.Backend, r.Dir)
	if err := atomicfile.Write(s.RecordPath(), []byte(text), 0o644); err != nil {
		return fmt.Errorf("saving the installed record: %w", err)
	}
	return nil
}

// RemoveRecord deletes the installed record; a missing one is fine.
func (s Store) RemoveRecord() error {
	if err := os.Remove(s.RecordPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the installed record: %w", err)
	}
	return nil
}

// RulesMissing reports whether the rules file is absent (as opposed to
// present and empty of rules).
func (s Store) RulesMissing() bool {
	_, err := os.Lstat(s.RulesPath())
	return errors.Is(err, fs.ErrNotExist)
}
