package lab

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
)

// NotifySocket listens at path where a watcher sends its systemd
// notifications, and returns them one message each.
func NotifySocket(t testing.TB, path string) <-chan string {
	t.Helper()
	os.Remove(path)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch := make(chan string, 16)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return ch
}

// WaitNotify waits up to 15 s for a notification that contains want.
func WaitNotify(t testing.TB, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case s := <-ch:
			if strings.Contains(s, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no %s from the watcher", want)
		}
	}
}

// Watcher is a running `ufw-docker-bridge watch` that the test started,
// with its notify socket and its log.
type Watcher struct {
	cmd   *exec.Cmd
	done  chan error
	Notes <-chan string
	Log   string
}

// StartWatcher starts `bin watch args...` with its log and notify socket in
// dir and extra environment variables, and waits for READY=1.
func StartWatcher(t testing.TB, bin, dir string, args []string, env ...string) *Watcher {
	t.Helper()
	sock := filepath.Join(dir, "notify.sock")
	w := &Watcher{cmd: exec.Command(bin, append([]string{"watch"}, args...)...), done: make(chan error, 1),
		Notes: NotifySocket(t, sock), Log: filepath.Join(dir, "watch.log")}
	w.cmd.Env = append(append(os.Environ(), "NOTIFY_SOCKET="+sock), env...)
	logf, err := os.Create(w.Log)
	if err != nil {
		t.Fatal(err)
	}
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait(); logf.Close() }()
	WaitNotify(t, w.Notes, "READY=1")
	return w
}

// PID is the watcher's process id.
func (w *Watcher) PID() int { return w.cmd.Process.Pid }

// Stop sends SIGTERM (to the PID recorded at start) and checks for a clean
// exit and STOPPING=1.
func (w *Watcher) Stop(t testing.TB) {
	t.Helper()
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.done:
		w.done <- err
		if err != nil {
			t.Errorf("watcher exit on SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watcher did not stop on SIGTERM")
	}
	WaitNotify(t, w.Notes, "STOPPING=1")
}

// Kill ends the watcher if it still runs and, when the test failed, logs
// what it wrote.
func (w *Watcher) Kill(t testing.TB) {
	select {
	case err := <-w.done:
		w.done <- err
	default:
		w.cmd.Process.Kill()
	}
	if t.Failed() {
		data, _ := os.ReadFile(w.Log)
		t.Logf("watcher log:\n%s", data)
	}
}

// InSync reports whether the live IPv4 filter table holds what the rules in
// stateDir render for in (its Rules are read from stateDir), jumps included,
// Docker's API asked too.
func InSync(t testing.TB, stateDir string, in plan.Input) bool {
	t.Helper()
	return inSync(t, stateDir, withDockerAPI(in))
}

func inSync(t testing.TB, stateDir string, in plan.Input) bool {
	t.Helper()
	rs, err := state.Store{Dir: stateDir}.Load()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("iptables-save", "-t", "filter").Output()
	if err != nil {
		return false
	}
	d, err := rules.ParseSave(string(out))
	if err != nil || d.Table("filter") == nil {
		return false
	}
	in.Family, in.Rules = rules.IPv4, rs
	drift, _ := plan.Repair(in, d.Table("filter"))
	return len(drift) == 0
}

// withDockerAPI adds the bridges Docker's API names to in, as the binary's
// backend reads them (a dockerd that does not answer leaves the rules'
// word there too).
func withDockerAPI(in plan.Input) plan.Input {
	if api, err := docker.Bridges(context.Background(), docker.Client{Socket: docker.SocketFromEnv()}); err == nil {
		in.DockerBridges = append(slices.Clone(in.DockerBridges), api...)
	}
	return in
}

// WaitInSync polls InSync every 2 ms and returns how long it took from
// start to hold; after 10 s it fails the test.
func WaitInSync(t testing.TB, stateDir string, in plan.Input, start time.Time) time.Duration {
	t.Helper()
	// One question to Docker's API per wait, not one per 2 ms poll.
	in = withDockerAPI(in)
	for !inSync(t, stateDir, in) {
		if time.Since(start) > 10*time.Second {
			out, _ := Sh("iptables-save -t filter")
			t.Fatalf("not repaired after 10s:\n%s", out)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// Clobber is one way another tool undoes our rules: a name and the shell
// script that does it.
type Clobber struct{ Name, Script string }

// ClobberRounds runs every clobber rounds times, each followed by wait (which
// measures from the end of the clobber, returning how long the repair took),
// logs each latency and returns them all.
func ClobberRounds(t testing.TB, rounds int, clobbers []Clobber, wait func(start time.Time) time.Duration) []time.Duration {
	t.Helper()
	var lat []time.Duration
	for round := 0; round < rounds; round++ {
		for _, c := range clobbers {
			if out, err := Sh(c.Script); err != nil {
				t.Fatalf("%s: %v\n%s", c.Name, err, out)
			}
			d := wait(time.Now())
			lat = append(lat, d)
			t.Logf("%-55s repaired in %v", c.Name, d)
		}
	}
	return lat
}
