// Package integration proves the UFW backend with real packets: real ufw,
// real dockerd with busybox containers, and an external client in its own
// network namespace, all inside namespaces this test binary creates.
package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// Addresses of the lab: the host faces the external namespace on ext0.
const (
	hostAddr   = "203.0.113.1"
	clientAddr = "203.0.113.8"  // an ordinary client
	deniedAddr = "203.0.113.7"  // the client deny rules name
	lanAddr    = "192.168.77.5" // a private-range client
	lanNet     = "192.168.77.0/24"
	extNS      = "udbext"
)

var (
	dir    string // lab scratch directory
	bin    string // the ufw-docker-bridge binary under test
	docker string // docker client command line
	// pristine holds UFW's rule files as they were before any test.
	pristine = map[string][]byte{}
	ufwFiles = []string{"before.rules", "after.rules", "before6.rules", "after6.rules"}
	dockerd  *lab.Dockerd
)

func TestMain(m *testing.M) { os.Exit(lab.Main(m, setup)) }

func setup() (func(), error) {
	dir = lab.Dir()
	bin = lab.Bin()
	dockerd = &lab.Dockerd{Dir: dir, Cmd: []string{"dockerd"}}
	docker = dockerd.Client()
	steps := lab.Prepare(dir)
	steps = append(steps,
		fmt.Sprintf("[ ! -d /etc/firewalld ] || { cp -a /etc/firewalld %[1]s/etc-firewalld && mount --bind %[1]s/etc-firewalld /etc/firewalld; }", dir),
		// A user's own text around where our block goes: it must survive byte for byte.
		"printf '# my own after.rules note\\n' >> /etc/ufw/after.rules",
		"printf %s \"$(cat /etc/ufw/after6.rules)\" > /etc/ufw/after6.rules.new && mv /etc/ufw/after6.rules.new /etc/ufw/after6.rules")
	// The external client.
	steps = append(steps, lab.External(extNS, []string{hostAddr, "192.168.77.1"}, []string{clientAddr, deniedAddr, lanAddr})...)
	steps = append(steps,
		// Web servers: one in the external namespace (container egress), two host services.
		fmt.Sprintf("for s in ext ssh other; do mkdir -p %[1]s/www-$s && echo $s > %[1]s/www-$s/index.html; done", dir),
		fmt.Sprintf("ip netns exec %s busybox httpd -p 80 -h %s/www-ext", extNS, dir),
		fmt.Sprintf("busybox httpd -p 22 -h %[1]s/www-ssh && busybox httpd -p 2222 -h %[1]s/www-other", dir),
		// UFW as a careful admin has it: deny incoming, allow ssh.
		"ufw allow 22/tcp && ufw --force enable",
	)
	for _, s := range steps {
		if _, err := lab.Sh(s); err != nil {
			return nil, err
		}
	}
	for _, f := range ufwFiles {
		data, err := os.ReadFile(filepath.Join("/etc/ufw", f))
		if err != nil {
			return nil, err
		}
		pristine[f] = data
	}
	if err := dockerd.Start(); err != nil {
		return dockerd.Stop, err
	}
	tar, err := lab.BusyboxImage(dir)
	if err != nil {
		return dockerd.Stop, err
	}
	const httpd = "sh -c 'mkdir -p /www && echo $0 > /www/index.html && exec httpd -f -p $1 -h /www'"
	for _, s := range []string{
		docker + " import " + tar + " bb:1",
		docker + " run -d --restart always --name web -p 8080:80 bb:1 " + httpd + " web 80",
		docker + " run -d --restart always --name db -p 3306:3306 bb:1 " + httpd + " db 3306",
		docker + " run -d --restart always --name api -p 9443:443 bb:1 " + httpd + " api 443",
		docker + " run -d --restart always --name echo -p 5005:5005/udp bb:1 udpecho :5005",
		docker + " network create appnet",
		docker + " run -d --restart always --name appa --network appnet -p 8088:80 bb:1 " + httpd + " a 80",
		docker + " run -d --restart always --name appb --network appnet bb:1 sleep 100000",
	} {
		if _, err := lab.Sh(s); err != nil {
			return dockerd.Stop, err
		}
	}
	return dockerd.Stop, nil
}

// restartDockerd restarts the lab's dockerd (lab.Dockerd.Restart).
func restartDockerd(t testing.TB, extra ...string) { t.Helper(); dockerd.Restart(t, extra...) }

// fresh starts a test from an uninstalled host with no rules, whatever the
// tests before it left.
func fresh(t testing.TB) {
	t.Helper()
	runBin("uninstall")
	if err := os.Remove(filepath.Join(dir, "state", "rules")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "state", "journal")); err != nil {
		t.Fatal(err)
	}
}

// runBin runs ufw-docker-bridge and returns stdout, stderr and the exit code.
func runBin(args ...string) (string, string, int) { return runBinEnv(nil, args...) }

// runBinEnv is runBin with extra environment variables.
func runBinEnv(env []string, args ...string) (string, string, int) {
	cmd := execCommand(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		code = exitCode(err)
	}
	return out.String(), errb.String(), code
}

func mustBin(t testing.TB, args ...string) string {
	t.Helper()
	t.Logf("$ ufw-docker-bridge %s", strings.Join(args, " "))
	out, errs, code := runBin(args...)
	if code != 0 {
		t.Fatalf("ufw-docker-bridge %s: exit %d: %s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func mustSh(t testing.TB, script string) string {
	t.Helper()
	return lab.MustSh(t, script)
}
