// Package runner runs commands behind a small interface, so that every
// package that execs (iptables, nft) can be tested with a fake.
package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Runner runs one command with optional standard input and returns its
// standard output. Implementations must be safe for concurrent use; a failed
// command returns an *ExecError.
type Runner interface {
	Run(ctx context.Context, name string, args []string, stdin []byte) ([]byte, error)
}

// ExecError is a command that failed: what ran, its exit code and stderr.
type ExecError struct {
	Cmd    string
	Code   int
	Stderr string
}

// Error returns the command, the exit code and the first line of stderr.
func (e *ExecError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " ")
	return fmt.Sprintf("%s: exit %d: %s", e.Cmd, e.Code, msg)
}

// Exec is the Runner that starts real processes.
type Exec struct{}

// Run starts name with args, feeding stdin when it is not nil.
func (Exec) Run(ctx context.Context, name string, args []string, stdin []byte) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		e := &ExecError{Cmd: strings.TrimSpace(name + " " + strings.Join(args, " ")), Code: -1, Stderr: stderr.String()}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			e.Code = ee.ExitCode()
		} else {
			e.Stderr = err.Error()
		}
		return stdout.Bytes(), e
	}
	return stdout.Bytes(), nil
}
