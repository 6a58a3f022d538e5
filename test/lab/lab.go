// Package lab runs real dockerd, UFW and an external client inside a network,
// mount and PID namespace that the test binary creates for itself, so that no
// test ever touches the firewall of the machine's own namespace. When the
// namespace's first process ends, the kernel kills everything it started.
package lab

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const insideEnv = "UFW_DOCKER_BRIDGE_LAB_INSIDE"

// RequireEnv, when set to 1, turns missing prerequisites into failures
// instead of skips (make test sets it when it runs as root).
const RequireEnv = "UFW_DOCKER_BRIDGE_REQUIRE_LAB"

// Tools are the commands every lab needs; a test that needs more (firewalld,
// libvirt, ferm) asks for them with Need, so that `make demo` installs only
// what the demo uses.
var Tools = []string{"unshare", "ip", "iptables-restore", "ip6tables-restore", "nft", "ufw", "dockerd", "docker", "busybox", "curl", "bash"}

// Need skips t when a command is missing, or fails it under RequireEnv
// (make test installs every one of them).
func Need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv(RequireEnv) == "1" {
				t.Fatalf("missing %s (make deps installs it)", tool)
			}
			t.Skipf("missing %s", tool)
		}
	}
}

// Main is TestMain for a lab package: outside, it re-runs the test binary in
// fresh namespaces and returns its exit code; inside, it checks that the
// namespace is new, runs setup, the tests, and teardown.
func Main(m *testing.M, setup func() (teardown func(), err error)) int {
	if os.Getenv(insideEnv) == "" {
		if reason := missing(); reason != "" {
			if os.Getenv(RequireEnv) == "1" {
				fmt.Fprintf(os.Stderr, "lab: cannot run: %s\n", reason)
				return 1
			}
			fmt.Printf("lab: skipping integration tests: %s\n", reason)
			return 0
		}
		dir, err := os.MkdirTemp("", "udb-lab-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "lab:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		if err := prebuild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "lab: build:", err)
			return 1
		}
		cmd := exec.Command("unshare", append([]string{"--pid", "--fork", "--net", "--mount",
			"--mount-proc", "--propagation", "private", "--kill-child", os.Args[0]}, os.Args[1:]...)...)
		// Inside, the module proxy cannot be reached: GOPROXY=off turns a
		// download that slipped in there into an error that says so, also on
		// a machine whose module cache is warm.
		cmd.Env = append(os.Environ(), insideEnv+"="+dir, "GOPROXY=off")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode()
			}
			fmt.Fprintln(os.Stderr, "lab:", err)
			return 1
		}
		return 0
	}
	if err := checkFreshNamespace(); err != nil {
		fmt.Fprintln(os.Stderr, "lab: refusing to run:", err)
		return 1
	}
	teardown, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab: setup:", err)
		if teardown != nil {
			teardown()
		}
		return 1
	}
	code := m.Run()
	teardown()
	return code
}

// Dir is the lab's scratch directory (inside the namespaces).
func Dir() string { return os.Getenv(insideEnv) }

// Bin is the ufw-docker-bridge binary under test, built before the lab
// entered its namespaces.
func Bin() string { return filepath.Join(Dir(), "ufw-docker-bridge") }

// BinEnv names a binary to test instead of the tree's (an older build, to
// show what a test finds there).
const BinEnv = "UFW_DOCKER_BRIDGE_LAB_BIN"

// prebuild runs, before any namespace is entered, everything that may need
// the module proxy: the modules of the whole tree (the package build inside
// TestDebPackage uses them), the binary under test and the image's udpecho.
func prebuild(dir string) error {
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	build := []string{"go", "build", "-o", filepath.Join(dir, "ufw-docker-bridge"), "./cmd/ufw-docker-bridge"}
	if other := os.Getenv(BinEnv); other != "" {
		build = []string{"cp", other, filepath.Join(dir, "ufw-docker-bridge")}
	}
	cmds := [][]string{
		{"go", "mod", "download"},
		build,
		{"go", "build", "-o", filepath.Join(dir, "udpecho"), "./test/lab/udpecho"},
	}
	for _, c := range cmds {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(c, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

func missing() string {
	if os.Geteuid() != 0 {
		return "not root"
	}
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			return "missing " + t
		}
	}
	return ""
}

// checkFreshNamespace proves we are not in the machine's own network
// namespace: a new one holds nothing but lo.
func checkFreshNamespace() error {
	out, err := exec.Command("ip", "-o", "link").Output()
	if err != nil {
		return fmt.Errorf("listing links: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.TrimSuffix(f[1], ":") != "lo" {
			return fmt.Errorf("the network namespace holds %s: not a fresh namespace", f[1])
		}
	}
	if os.Getpid() != 1 {
		return fmt.Errorf("not PID 1 of a new PID namespace")
	}
	return nil
}

// Sh runs a bash script and returns its combined output.
func Sh(script string) (string, error) {
	cmd := exec.Command("bash", "-c", script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", firstLine(script), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Daemon is a process the lab started; Stop ends and reaps it.
type Daemon struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process is reaped
}

// Start starts a long-running command with its output in logPath.
func Start(logPath string, name string, args ...string) (*Daemon, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	d := &Daemon{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(d.done) }()
	return d, nil
}

// Stop sends SIGTERM to the process it started (by its recorded PID), waits
// up to timeout, then SIGKILL, and reaps it. Stopping a stopped daemon does
// nothing.
func (d *Daemon) Stop(timeout time.Duration) {
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(timeout):
		d.cmd.Process.Kill()
		<-d.done
	}
}

// Signal sends sig to the process it started (by its recorded PID); a
// daemon that has ended is not signalled.
func (d *Daemon) Signal(sig os.Signal) error {
	select {
	case <-d.done:
		return errors.New("the daemon has ended")
	default:
	}
	return d.cmd.Process.Signal(sig)
}

// WaitFor polls check every 100 ms until it succeeds or timeout passes.
func WaitFor(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// BusyboxImage writes a root filesystem of busybox applets and the lab's
// udpecho server (built by prebuild) as a tar file.
func BusyboxImage(dir string) (string, error) {
	root := filepath.Join(dir, "bbroot")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		return "", err
	}
	if _, err := Sh(fmt.Sprintf("cp /bin/busybox %[1]s/bin/ && for a in sh httpd cat wget timeout mkdir echo sleep; do ln -sf busybox %[1]s/bin/$a; done", root)); err != nil {
		return "", err
	}
	if _, err := Sh(fmt.Sprintf("cp %s/udpecho %s/bin/udpecho", dir, root)); err != nil {
		return "", err
	}
	tarPath := filepath.Join(dir, "bb.tar")
	_, err := Sh(fmt.Sprintf("tar -C %s -cf %s .", root, tarPath))
	return tarPath, err
}

// Prober dials one TCP address from inside another network namespace, many
// times a second, and counts the connections that succeeded: for a port that
// must stay closed, every success is a leak.
type Prober struct {
	attempts, successes atomic.Int64
	stop                chan struct{}
	wg                  sync.WaitGroup
}

// StartProber starts n dialers in the network namespace at nsPath, each
// dialing target from source with the given timeout, pausing pause between
// attempts.
func StartProber(nsPath, source, target string, n int, timeout, pause time.Duration) (*Prober, error) {
	p := &Prober{stop: make(chan struct{})}
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			err := joinNetNS(nsPath)
			errs <- err
			if err != nil {
				return
			}
			d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
			for {
				select {
				case <-p.stop:
					return
				default:
				}
				p.attempts.Add(1)
				if c, err := d.Dial("tcp", target); err == nil {
					p.successes.Add(1)
					c.Close()
				}
				time.Sleep(pause)
			}
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			p.Stop()
			return nil, fmt.Errorf("entering %s: %w", nsPath, err)
		}
	}
	return p, nil
}

// FirstFailure dials target from source in the network namespace at
// nsPath, one attempt every pause, each with timeout, and sends on failed
// the start of the first attempt that fails; stop ends it (and is safe to
// call more than once).
func FirstFailure(nsPath, source, target string, timeout, pause time.Duration) (failed <-chan time.Time, stop func(), err error) {
	out := make(chan time.Time, 1)
	done := make(chan struct{})
	ready := make(chan error, 1)
	go func() {
		err := joinNetNS(nsPath)
		ready <- err
		if err != nil {
			return
		}
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
		for {
			select {
			case <-done:
				return
			default:
			}
			start := time.Now()
			c, err := d.Dial("tcp", target)
			if err != nil {
				out <- start
				return
			}
			c.Close()
			time.Sleep(pause)
		}
	}()
	if err := <-ready; err != nil {
		return nil, nil, fmt.Errorf("entering %s: %w", nsPath, err)
	}
	var once sync.Once
	return out, func() { once.Do(func() { close(done) }) }, nil
}

// joinNetNS moves the calling goroutine's thread into the network
// namespace at nsPath. The thread is locked and never given back: the
// runtime ends a locked thread when its goroutine exits.
func joinNetNS(nsPath string) error {
	runtime.LockOSThread()
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Setns(fd, unix.CLONE_NEWNET)
}

// ShAll runs each shell step in turn and stops at the first that fails.
func ShAll(steps ...string) error {
	for _, s := range steps {
		if _, err := Sh(s); err != nil {
			return err
		}
	}
	return nil
}

// Counts returns the attempts and the successes so far.
func (p *Prober) Counts() (attempts, successes int64) {
	return p.attempts.Load(), p.successes.Load()
}

// Stop ends the dialers and returns the attempts and the successes.
func (p *Prober) Stop() (attempts, successes int64) {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
	return p.attempts.Load(), p.successes.Load()
}

// Prepare is what every lab does first: it points the binary's state, lock
// and /etc at the lab's scratch directory dir (doctor then reads no boot
// loader of the machine's), and makes private copies of UFW's configuration and a private /run (Docker's,
// D-Bus's, firewalld's and ip netns' sockets and the xtables lock stay
// inside the lab), and hides the machine's own /etc/ufw-docker-bridge. It
// returns the shell steps; the variables it sets at once.
func Prepare(dir string) []string {
	os.Setenv("UFW_DOCKER_BRIDGE_STATE_DIR", filepath.Join(dir, "state"))
	os.Setenv("UFW_DOCKER_BRIDGE_LOCK", filepath.Join(dir, "udb.lock"))
	os.Setenv("UFW_DOCKER_BRIDGE_ETC", filepath.Join(dir, "etc-empty"))
	// The watcher's metrics stay in the lab, whatever node_exporter
	// directory the machine has.
	os.Setenv("UFW_DOCKER_BRIDGE_METRICS_FILE", filepath.Join(dir, "metrics", "ufw-docker-bridge.prom"))
	// The lab's dockerd (Dockerd.Client) answers the binary's API questions.
	os.Setenv("DOCKER_HOST", "unix://"+filepath.Join(dir, "docker.sock"))
	return []string{
		"ip link set lo up",
		"mkdir -p " + filepath.Join(dir, "metrics"),
		fmt.Sprintf("cp -a /etc/ufw %[1]s/etc-ufw && mount --bind %[1]s/etc-ufw /etc/ufw", dir),
		fmt.Sprintf("cp -a /etc/default/ufw %[1]s/default-ufw && mount --bind %[1]s/default-ufw /etc/default/ufw", dir),
		"mount -t tmpfs tmpfs /run && mkdir -p /run/docker /run/containerd /run/netns /run/dbus /run/firewalld",
		// A machine with the package installed: its state stays out of the
		// lab (and its installed record would refuse the lab's state dir).
		"[ ! -d /etc/ufw-docker-bridge ] || mount -t tmpfs tmpfs /etc/ufw-docker-bridge",
	}
}

// External returns the steps that make the external client: network
// namespace ns behind veth ext0 (the host's side, with hostAddrs) and ext1
// (the client's, with clientAddrs, each a /24).
func External(ns string, hostAddrs, clientAddrs []string) []string {
	host := "ip link add ext0 type veth peer name ext1 && ip link set ext1 netns " + ns
	for _, a := range hostAddrs {
		host += " && ip addr add " + a + "/24 dev ext0"
	}
	client := "ip link set lo up"
	for _, a := range clientAddrs {
		client += "; ip addr add " + a + "/24 dev ext1"
	}
	return []string{"ip netns add " + ns, host + " && ip link set ext0 up",
		fmt.Sprintf("ip netns exec %s sh -c '%s; ip link set ext1 up'", ns, client)}
}

// Cell is one entry of a reachability matrix: what was measured, and what
// the test wants.
type Cell struct {
	Name      string
	Got, Want bool
}

// Matrix logs a reachability matrix under title and fails t on every cell
// whose measure is not what the test wants.
func Matrix(t testing.TB, title string, cells []Cell) {
	t.Helper()
	mark := func(b bool) string {
		if b {
			return "OPEN"
		}
		return "closed"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "reachability %s:\n", title)
	for _, c := range cells {
		bad := ""
		if c.Got != c.Want {
			bad = "   <-- WRONG"
			t.Errorf("%s: %s is %s, want %s", title, c.Name, mark(c.Got), mark(c.Want))
		}
		fmt.Fprintf(&b, "  %-48s %s%s\n", c.Name, mark(c.Got), bad)
	}
	t.Log(b.String())
}
