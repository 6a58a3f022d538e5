package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteKeepsModeAndLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "after.rules")
	if err := os.WriteFile(path, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	data, _ := os.ReadFile(path)
	if string(data) != "new" || st.Mode().Perm() != 0o640 {
		t.Errorf("content %q mode %v", data, st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	if err := Write(filepath.Join(dir, "missing", "x"), []byte("x"), 0o644); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

// TestWriteThroughLink: a symlinked file is written through: the target
// gets the new content beside itself, the link stays a link.
func TestWriteThroughLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "repo", "after.rules")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "after.rules")
	if err := os.Symlink("repo/after.rules", link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link is no longer a link: %v %v", st, err)
	}
	data, err := os.ReadFile(target)
	if err != nil || string(data) != "new\n" {
		t.Errorf("target: %q %v", data, err)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o640 {
		t.Errorf("the target's mode changed: %v", st.Mode())
	}
}

// A link to nothing gets its target created, relative to the link's
// directory, and stays a link.
func TestWriteThroughDanglingLink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "rules")
	if err := os.Symlink("rules.gone", link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link is no longer a link: %v %v", st, err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "rules.gone")); err != nil || string(data) != "new\n" {
		t.Errorf("target: %q %v", data, err)
	}
}

// WriteNoFollow replaces a link planted at the path instead of writing
// through it, and refuses a directory that is a link.
func TestWriteNoFollow(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "shadow")
	if err := os.WriteFile(victim, []byte("root:secret\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	textfiles := filepath.Join(dir, "node-exporter")
	os.Mkdir(textfiles, 0o755)
	path := filepath.Join(textfiles, "ufw-docker-bridge.prom")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := WriteNoFollow(path, []byte("metrics 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "root:secret\n" {
		t.Errorf("the link's target was written: %q", data)
	}
	st, err := os.Lstat(path)
	if data, _ := os.ReadFile(path); err != nil || st.Mode()&os.ModeSymlink != 0 || st.Mode().Perm() != 0o644 || string(data) != "metrics 1\n" {
		t.Errorf("the file: %v %v %q", err, st.Mode(), data)
	}
	if entries, _ := os.ReadDir(textfiles); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	// The directory swapped for a link to another: refused.
	other := filepath.Join(dir, "etc")
	os.Mkdir(other, 0o755)
	os.RemoveAll(textfiles)
	os.Symlink(other, textfiles)
	if err := WriteNoFollow(path, []byte("metrics 2\n"), 0o644); err == nil {
		t.Error("wrote through a directory that is a link")
	}
	if entries, _ := os.ReadDir(other); len(entries) != 0 {
		t.Errorf("wrote into the link's target: %v", entries)
	}
}
