package ufw

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// LockPath is UFW's own lock: every ufw command (ufw reload, allow,
// enable, ...) holds a POSIX lock on it for its whole run.
const LockPath = "/run/ufw.lock"

// lockWait bounds the wait for UFW's lock: a ufw command may hold it while
// it waits for an answer (ufw enable over ssh).
const lockWait = 30 * time.Second

// Hold takes UFW's lock at path, waiting for a ufw command that holds
// it, so that no ufw reload reads after.rules between our write of the
// file and of the live rules. It returns what releases it.
func Hold(path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening UFW's lock: %w", err)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
	for deadline := time.Now().Add(lockWait); ; time.Sleep(20 * time.Millisecond) {
		err = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
		if err == nil {
			break
		}
		if busy := errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES); !busy {
			f.Close()
			return nil, fmt.Errorf("taking UFW's lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("UFW's lock %s has been held for %v (a ufw command waiting for an answer?): nothing was changed", path, lockWait)
		}
	}
	return func() {
		unlock := syscall.Flock_t{Type: syscall.F_UNLCK, Whence: 0}
		syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &unlock)
		f.Close()
	}, nil
}
