package lab

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Dockerd is the dockerd of a lab: its socket, state and log live in Dir.
// It is started directly (its PID recorded), stopped by that PID and reaped.
type Dockerd struct {
	Dir string
	// Cmd is the command before the lab's own flags (data root, exec
	// root, socket, pidfile): "dockerd", or an env prefix and a path.
	Cmd []string
	// Flags are added on every start (IPv6, a firewall backend, ...).
	Flags []string
	// Wait is how long a start may take to answer (30 s when zero).
	Wait time.Duration
	d    *Daemon
}

// Client is the docker client command line for this dockerd.
func (d *Dockerd) Client() string {
	return "/usr/bin/docker -H unix://" + filepath.Join(d.Dir, "docker.sock")
}

// Start starts dockerd with its flags and extra ones, and waits until it
// answers.
func (d *Dockerd) Start(extra ...string) error {
	args := append(append(append([]string{}, d.Cmd[1:]...), d.Flags...),
		"--data-root", filepath.Join(d.Dir, "docker-root"), "--exec-root", filepath.Join(d.Dir, "docker-exec"),
		"-H", "unix://"+filepath.Join(d.Dir, "docker.sock"), "--pidfile", filepath.Join(d.Dir, "docker.pid"),
		"--shutdown-timeout", "2")
	var err error
	if d.d, err = Start(filepath.Join(d.Dir, "dockerd.log"), d.Cmd[0], append(args, extra...)...); err != nil {
		return err
	}
	wait := d.Wait
	if wait == 0 {
		wait = 30 * time.Second
	}
	return WaitFor(wait, func() error { _, err := Sh(d.Client() + " info"); return err })
}

// Stop stops dockerd if it runs and removes its pidfile (a stale one keeps
// the next start from running).
func (d *Dockerd) Stop() {
	if d.d != nil {
		d.d.Stop(20 * time.Second)
		os.Remove(filepath.Join(d.Dir, "docker.pid"))
		d.d = nil
	}
}

// Signal sends sig to dockerd (SIGSTOP and SIGCONT make a Docker that lags).
func (d *Dockerd) Signal(sig os.Signal) error {
	if d.d == nil {
		return errors.New("dockerd does not run")
	}
	return d.d.Signal(sig)
}

// Restart restarts dockerd (with extra flags if any) and waits until every
// container that ran before runs again (the labs start them with
// --restart always).
func (d *Dockerd) Restart(t testing.TB, extra ...string) {
	t.Helper()
	n := strings.TrimSpace(MustSh(t, d.Client()+" ps -q | wc -l"))
	d.Stop()
	if err := d.Start(extra...); err != nil {
		t.Fatal(err)
	}
	MustSh(t, "for i in $(seq 100); do [ $("+d.Client()+" ps -q | wc -l) -ge "+n+" ] && exit 0; sleep 0.2; done; exit 1")
}

// MustSh runs a bash script and fails t when it fails.
func MustSh(t testing.TB, script string) string {
	t.Helper()
	out, err := Sh(script)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// MustBin runs the binary under test, logs its output and fails t when it
// fails.
func MustBin(t testing.TB, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	t.Logf("$ ufw-docker-bridge %s\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("ufw-docker-bridge %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}
