// Package neighbours proves ufw-docker-bridge next to the tools that share
// the firewall with it: other tools' rules in DOCKER-USER (fail2ban's
// chain = DOCKER-USER, CrowdSec's bouncer, an admin's DROP), address sets
// (block lists, allow lists), and the real Debian fail2ban with our action,
// with a dockerd 20.10, UFW and an external client of several addresses,
// inside namespaces this test binary creates.
package neighbours

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// The lab's addresses: the host faces the external namespace on ext0; the
// client speaks from one address per role.
const (
	hostAddr    = "203.0.113.1"
	clientAddr  = "203.0.113.8"  // an ordinary client
	adminDrop   = "203.0.113.61" // an admin's DROP above our jump
	belowDrop   = "203.0.113.62" // a DROP below our jump
	bypass      = "203.0.113.63" // an ACCEPT above our jump
	banned      = "203.0.113.66" // in the deny set
	office      = "203.0.113.67" // in the allow set
	listed      = "203.0.113.68" // in a loaded block list
	timed       = "203.0.113.69" // banned for a few seconds
	f2bBanned   = "203.0.113.70" // banned by fail2ban
	extNS       = "udbnbext"
	hostLAN     = "10.77.0.1" // the host's address on a private network
	lanAddr     = "10.77.0.8" // a client on that network
	httpdScript = "sh -c 'mkdir -p /www && echo $0 > /www/index.html && exec httpd -f -p $1 -h /www'"
)

var sources = []string{clientAddr, adminDrop, belowDrop, bypass, banned, office, listed, timed, f2bBanned, crowdBanned}

var (
	dir     string
	bin     string
	docker  string
	dockerd *lab.Dockerd
)

func TestMain(m *testing.M) { os.Exit(lab.Main(m, setup)) }

func setup() (func(), error) {
	dir = lab.Dir()
	bin = lab.Bin()
	dockerd = &lab.Dockerd{Dir: dir, Cmd: []string{"dockerd"}}
	docker = dockerd.Client()
	steps := append(lab.Prepare(dir), "sysctl -qw net.ipv4.ip_forward=1")
	steps = append(steps, lab.External(extNS, []string{hostAddr, hostLAN}, append(sources, lanAddr))...)
	steps = append(steps, "ufw allow 22/tcp && ufw allow 8000/tcp && ufw --force enable")
	if err := lab.ShAll(steps...); err != nil {
		return nil, err
	}
	stop := dockerd.Stop
	if err := dockerd.Start(); err != nil {
		return stop, err
	}
	tar, err := lab.BusyboxImage(dir)
	if err != nil {
		return stop, err
	}
	if err := lab.ShAll(
		docker+" import "+tar+" bb:1",
		docker+" run -d --name web -p 8080:80 bb:1 "+httpdScript+" web 80",
		docker+" run -d --name admin -p 9443:80 bb:1 "+httpdScript+" admin 80",
		docker+" run -d --name closed -p 9999:80 bb:1 "+httpdScript+" closed 80",
	); err != nil {
		return stop, err
	}
	// A service of the host itself on 8000, which UFW allows.
	if err := os.MkdirAll(dir+"/host-www", 0o755); err != nil {
		return stop, err
	}
	if err := os.WriteFile(dir+"/host-www/index.html", []byte("host\n"), 0o644); err != nil {
		return stop, err
	}
	host, err := lab.Start(dir+"/host-httpd.out", "busybox", "httpd", "-f", "-p", hostAddr+":8000", "-h", dir+"/host-www")
	if err != nil {
		return stop, err
	}
	stopAll := func() { host.Stop(2 * time.Second); stop() }
	err = lab.WaitFor(15*time.Second, func() error {
		if !open(clientAddr, 8080, "web") {
			return fmt.Errorf("web does not answer")
		}
		return nil
	})
	return stopAll, err
}

// open reports whether the web page on the host's port answers the
// external client speaking from source with want.
func open(source string, port int, want string) bool { return openAt(source, hostAddr, port, want) }

// openAt is open to the host's address host.
func openAt(source, host string, port int, want string) bool {
	out, _ := exec.Command("ip", "netns", "exec", extNS, "curl", "-s", "-m", "1", "--interface", source,
		fmt.Sprintf("http://%s:%d/", host, port)).Output()
	return strings.TrimSpace(string(out)) == want
}

func mustSh(t testing.TB, script string) string {
	t.Helper()
	return lab.MustSh(t, script)
}

func mustBin(t testing.TB, args ...string) string {
	t.Helper()
	return lab.MustBin(t, bin, args...)
}

// binExit runs the binary and returns its combined output and exit code.
func binExit(args ...string) (string, int) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return string(out), code
}

var errNotYet = fmt.Errorf("not yet")

// fresh starts a test from no installation and no state: what an earlier
// test left is uninstalled and its rules and sets removed.
func fresh(t testing.TB) {
	t.Helper()
	binExit("uninstall")
	mustSh(t, "rm -rf "+dir+"/state")
}
