// Package atomicfile replaces files so that a reader, a crash or a full disk
// only ever sees the old or the new content, never a mix.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Write replaces path with data: a temporary file in the same directory,
// written and fsynced, given the old file's mode and owner (or mode for a new
// file), renamed over path, then the directory fsynced. On error path is
// unchanged and the temporary file is gone. Callers must serialise writers
// of one path: Write removes temporary files a killed writer left behind.
//
// A path that is a symbolic link (configuration kept in git, etckeeper) is
// written through: the link's target is replaced, beside itself (created
// where the link leads to nothing), and the link stays a link.
func Write(path string, data []byte, mode fs.FileMode) (err error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(path)
		if errors.Is(err, fs.ErrNotExist) {
			// A link to nothing: its target is created.
			if target, err = os.Readlink(path); err == nil && !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(path), target)
			}
		}
		if err != nil {
			return fmt.Errorf("following the link %s: %w", path, err)
		}
		path = target
	}
	uid, gid := -1, -1
	if st, statErr := os.Stat(path); statErr == nil {
		mode = st.Mode().Perm()
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(sys.Uid), int(sys.Gid)
		}
	} else if !errors.Is(statErr, fs.ErrNotExist) {
		return fmt.Errorf("inspecting %s: %w", path, statErr)
	}
	dir := filepath.Dir(path)
	// Temporary files of a writer that was killed: callers serialise their
	// writers (a lock), so none of these is in use.
	stale, _ := filepath.Glob(filepath.Join(dir, "."+filepath.Base(path)+".tmp-*"))
	for _, f := range stale {
		os.Remove(f)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating temporary file for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("setting mode of %s: %w", tmp.Name(), err)
	}
	if uid >= 0 {
		if err = tmp.Chown(uid, gid); err != nil {
			return fmt.Errorf("setting owner of %s: %w", tmp.Name(), err)
		}
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
