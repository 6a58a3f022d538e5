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

// SetsDir holds one file per address set, named after the set.
const SetsDir = "sets"

const (
	setHeader = formatLine + `
# ufw-docker-bridge address set: one address or network a line, "expires=" the
# Unix time a timed entry ends. Written by ufw-docker-bridge set add|del|load.
`
	setEnd = "# end of set"
)

// SetPath is the file of set name.
func (s Store) SetPath(name string) string { return filepath.Join(s.Dir, SetsDir, name) }

// SetNames lists the sets of the state directory, sorted.
func (s Store) SetNames() ([]string, error) {
	return regularFiles(filepath.Join(s.Dir, SetsDir), "sets", func(name string) bool { return rules.CheckSetName(name) == nil })
}

// HasSet reports whether set name has a file, without reading it.
func (s Store) HasSet(name string) (bool, error) {
	_, err := os.Lstat(s.SetPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading set %s: %w", name, err)
	}
	return true, nil
}

// LoadSet reads set name; ok is false when there is no such set. A file
// cut short or with a line it cannot read is a FileError.
func (s Store) LoadSet(name string) (entries []rules.SetEntry, ok bool, err error) {
	data, err := os.ReadFile(s.SetPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading set %s: %w", name, err)
	}
	text := string(data)
	if !strings.HasSuffix(text, setEnd+"\n") {
		return nil, false, &FileError{fmt.Errorf("%s: the file was cut short (no %q line): fix or replace it with `ufw-docker-bridge set load %s`", s.SetPath(name), setEnd, name)}
	}
	if entries, err = rules.ParseSetFile(text); err != nil {
		return nil, false, &FileError{fmt.Errorf("%s: %w", s.SetPath(name), err)}
	}
	return entries, true, nil
}

// SaveSet replaces the file of set name atomically.
func (s Store) SaveSet(name string, entries []rules.SetEntry) error {
	if err := os.MkdirAll(filepath.Join(s.Dir, SetsDir), 0o755); err != nil {
		return fmt.Errorf("creating the sets directory: %w", err)
	}
	var b strings.Builder
	b.Grow(len(setHeader) + 24*len(entries))
	b.WriteString(setHeader)
	for _, e := range entries {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	b.WriteString(setEnd + "\n")
	if err := atomicfile.Write(s.SetPath(name), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("saving set %s: %w", name, err)
	}
	return nil
}

// RemoveSet deletes the file of set name; a missing one is not an error.
func (s Store) RemoveSet(name string) error {
	if err := os.Remove(s.SetPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing set %s: %w", name, err)
	}
	return nil
}
