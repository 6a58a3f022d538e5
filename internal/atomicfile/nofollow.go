package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// WriteNoFollow replaces path with data, as Write does, for a file in a
// directory that another user may change (node_exporter's textfile
// directory, whose parent the prometheus user owns): nothing is followed.
// A directory that is a link is refused; a link at path is replaced, never
// written through (Write would replace its target, /etc/shadow as well);
// the file is new each time, root's, with mode.
func WriteNoFollow(path string, data []byte, mode fs.FileMode) (err error) {
	// No trailing slash: "dir/" would resolve a link at dir.
	dir, name := filepath.Dir(path), filepath.Base(path)
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening directory %s (a link is not followed): %w", dir, err)
	}
	defer unix.Close(dfd)
	var b [8]byte
	rand.Read(b[:])
	tmp := "." + name + ".tmp-" + hex.EncodeToString(b[:])
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return fmt.Errorf("creating temporary file for %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, tmp))
	defer func() {
		if err != nil {
			f.Close()
			unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	// The umask took bits away at creation.
	if err = f.Chmod(mode.Perm()); err != nil {
		return fmt.Errorf("setting mode of %s: %w", f.Name(), err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", f.Name(), err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", f.Name(), err)
	}
	if err = unix.Renameat(dfd, tmp, dfd, name); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	if err := unix.Fsync(dfd); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
