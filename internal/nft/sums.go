package nft

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/atomicfile"
)

// Sums remembers how each table of ours looked right after we wrote it: a
// SHA-256 of its listing (table.live), one file a table in Dir. A table's
// comment names the version we wrote, but a flushed chain or a deleted rule
// keeps the comment: only the listing shows them. Dir belongs under /run,
// as the tables do not outlive a boot either; with no Dir nothing is
// remembered, and no table is taken as intact.
type Sums struct{ Dir string }

func (s Sums) path(table string) string { return filepath.Join(s.Dir, table+".sha256") }

func digest(listing string) string {
	sum := sha256.Sum256([]byte(listing))
	return hex.EncodeToString(sum[:])
}

// Matches reports whether listing is the one recorded for table.
func (s Sums) Matches(table, listing string) bool {
	if s.Dir == "" {
		return false
	}
	data, err := os.ReadFile(s.path(table))
	return err == nil && strings.TrimSpace(string(data)) == digest(listing)
}

// Record remembers listing for table.
func (s Sums) Record(table, listing string) error {
	if s.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return fmt.Errorf("remembering table inet %s: %w", table, err)
	}
	if err := atomicfile.Write(s.path(table), []byte(digest(listing)+"\n"), 0o644); err != nil {
		return fmt.Errorf("remembering table inet %s: %w", table, err)
	}
	return nil
}

// Forget drops what was recorded for table (it is gone).
func (s Sums) Forget(table string) error {
	if s.Dir == "" {
		return nil
	}
	if err := os.Remove(s.path(table)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forgetting table inet %s: %w", table, err)
	}
	return nil
}

// live lists the table as nft does without counters and set elements (nft
// -s -t): what our passes keep as they wrote it, while Docker's ports, a
// ban and a counted drop change only what is left out. there is false when
// the table is missing.
func (t table) live(ctx context.Context) (listing string, there bool, err error) {
	if t.list != nil {
		return t.list()
	}
	out, err := t.runner.Run(ctx, "nft", []string{"-s", "-t", "list", "table", "inet", t.name}, nil)
	if err != nil {
		// nft says "No such file or directory" for a missing table; anything
		// else is a real failure.
		if strings.Contains(err.Error(), "No such file or directory") {
			return "", false, nil
		}
		return "", false, fmt.Errorf("reading table inet %s: %w", t.name, err)
	}
	return string(out), true, nil
}

// intact reports whether the live table is version comment (as
// t.commentOf reads it), exactly as we last wrote it.
func (t table) intact(ctx context.Context, comment string) (bool, error) {
	listing, there, err := t.live(ctx)
	if err != nil || !there {
		return false, err
	}
	return t.commentOf(listing) == comment && t.sums.Matches(t.name, listing), nil
}

// edited reports whether the live table differs from what we last wrote
// (false when there is no table).
func (t table) edited(ctx context.Context) (bool, error) {
	listing, there, err := t.live(ctx)
	return there && !t.sums.Matches(t.name, listing), err
}

// record remembers the table as it is now, right after a write of ours.
func (t table) record(ctx context.Context) error {
	listing, there, err := t.live(ctx)
	switch {
	case err != nil:
		return err
	case !there:
		return t.sums.Forget(t.name)
	}
	return t.sums.Record(t.name, listing)
}

// tableComment is the table's own comment in a listing ("" when none).
func tableComment(listing string) string {
	for _, line := range strings.Split(listing, "\n") {
		line = strings.TrimSpace(line)
		if c, ok := strings.CutPrefix(line, "comment "); ok {
			return strings.Trim(c, `"`)
		}
	}
	return ""
}
