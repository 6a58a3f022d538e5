// Package dockernft proves ufw-docker-bridge next to Docker's nftables
// firewall backend (Docker 29, "firewall-backend": "nftables"), with real
// packets: UFW enabled, a real dockerd 29 with busybox containers, and an
// external client, inside namespaces this test binary creates. Docker 29 is
// built by scripts/docker29.sh (Debian 12 ships 20.10, which has no such
// backend); its own lab keeps it off the other tests' docker0.
package dockernft

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// Addresses of the lab: the host faces the external namespace on ext0.
const (
	hostAddr   = "203.0.113.1"
	clientAddr = "203.0.113.8" // an ordinary client
	deniedAddr = "203.0.113.7" // the client the deny rule names
	extNS      = "udbnftext"
)

// docker29Env names the directory of Docker 29's dockerd and runc.
const docker29Env = "UFW_DOCKER_BRIDGE_DOCKER29"

var (
	dir     string // lab scratch directory
	bin     string // the ufw-docker-bridge binary under test
	docker  string // docker client command line
	d29     string // directory of dockerd 29 and its runc
	dockerd *lab.Dockerd
)

// httpd is a container command that serves its first argument on port $1.
const httpd = "sh -c 'mkdir -p /www && echo $0 > /www/index.html && exec httpd -f -p $1 -h /www'"

func TestMain(m *testing.M) {
	d29 = os.Getenv(docker29Env)
	if d29 == "" {
		d29 = "/usr/local/lib/ufw-docker-bridge-test/docker29"
	}
	if _, err := os.Stat(filepath.Join(d29, "dockerd")); err != nil && lab.Dir() == "" && os.Geteuid() == 0 {
		if os.Getenv(lab.RequireEnv) == "1" {
			fmt.Fprintf(os.Stderr, "dockernft: no dockerd 29 in %s (scripts/docker29.sh builds it)\n", d29)
			os.Exit(1)
		}
		fmt.Printf("dockernft: skipping: no dockerd 29 in %s (scripts/docker29.sh builds it)\n", d29)
		os.Exit(0)
	}
	os.Exit(lab.Main(m, setup))
}

func setup() (func(), error) {
	dir = lab.Dir()
	bin = lab.Bin()
	// Docker 29 with its nftables backend. Debian's docker-proxy is too old
	// for it: no userland proxy. The 20.10 client talks to it through API
	// 1.41, which DOCKER_MIN_API_VERSION lets it accept.
	dockerd = &lab.Dockerd{Dir: dir, Cmd: []string{"env", "DOCKER_MIN_API_VERSION=1.24", filepath.Join(d29, "dockerd")},
		Flags: []string{"--firewall-backend=nftables", "--userland-proxy=false",
			"--add-runtime", "runc29=" + filepath.Join(d29, "runc"), "--default-runtime", "runc29"},
		Wait: 60 * time.Second}
	docker = dockerd.Client()
	steps := append(lab.Prepare(dir),
		// Docker 29 refuses its nftables backend unless forwarding is on.
		"sysctl -qw net.ipv4.ip_forward=1")
	steps = append(steps, lab.External(extNS, []string{hostAddr}, []string{clientAddr, deniedAddr})...)
	steps = append(steps,
		fmt.Sprintf("mkdir -p %[1]s/www-ext && echo ext > %[1]s/www-ext/index.html && ip netns exec %[2]s busybox httpd -p 80 -h %[1]s/www-ext", dir, extNS),
		fmt.Sprintf("mkdir -p %[1]s/www-ssh && echo ssh > %[1]s/www-ssh/index.html && busybox httpd -p 22 -h %[1]s/www-ssh", dir),
		"ufw allow 22/tcp && ufw --force enable",
	)
	for _, s := range steps {
		if _, err := lab.Sh(s); err != nil {
			return nil, err
		}
	}
	if err := dockerd.Start(); err != nil {
		return dockerd.Stop, err
	}
	tar, err := lab.BusyboxImage(dir)
	if err != nil {
		return dockerd.Stop, err
	}
	for _, s := range []string{
		docker + " import " + tar + " bb:1",
		run("web", "-p 8080:80", "web 80"),
		run("api", "-p 9443:443", "api 443"),
	} {
		if _, err := lab.Sh(s); err != nil {
			return dockerd.Stop, err
		}
	}
	return dockerd.Stop, nil
}

// run is the docker run command of a busybox web server named name. This
// runc has no seccomp (built without libseccomp): containers go unconfined.
func run(name, opts, args string) string {
	return fmt.Sprintf("%s run -d --restart always --security-opt seccomp=unconfined --name %s %s bb:1 %s %s", docker, name, opts, httpd, args)
}

func mustSh(t testing.TB, script string) string {
	t.Helper()
	return lab.MustSh(t, script)
}

// mustBin runs ufw-docker-bridge and fails the test when it fails.
func mustBin(t testing.TB, args ...string) string {
	t.Helper()
	return lab.MustBin(t, bin, args...)
}

// open reports whether a web page on the host's port answers the external
// client at source with want.
func open(source string, port int, want string) bool {
	out, _ := exec.Command("ip", "netns", "exec", extNS, "curl", "-s", "-m", "1", "--interface", source,
		fmt.Sprintf("http://%s:%d/", hostAddr, port)).Output()
	return strings.TrimSpace(string(out)) == want
}

// egress reports whether container name reaches the external web server.
func egress(name string) bool {
	out, _ := lab.Sh(docker + " exec " + name + " timeout 3 wget -q -O - http://" + clientAddr + "/")
	return strings.TrimSpace(out) == "ext"
}
