// Package ipv6 proves ufw-docker-bridge with real IPv6 clients: a dockerd
// 20.10 with IPv6 on its default network (ip6tables: Docker's DNAT in both
// families) and a network without IPv6 (its ports reach IPv6 clients only
// through docker-proxy in INPUT), UFW enabled, and an external client with
// both families, inside namespaces this test binary creates. Its own lab
// keeps Docker's IPv6 settings off the other tests.
package ipv6

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// Addresses of the lab: the host faces the external namespace on ext0.
const (
	hostAddr    = "203.0.113.1"
	clientAddr  = "203.0.113.8"
	host6       = "2001:db8:77::1"
	client6     = "2001:db8:77::8" // an ordinary IPv6 client
	denied6     = "2001:db8:77::7" // the IPv6 client the deny rule names
	extNS       = "udb6ext"
	dockerNet6  = "fd00:d0c::/80"
	httpdScript = "sh -c 'mkdir -p /www && echo $0 > /www/index.html && exec httpd -f -p $1 -h /www'"
)

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
	dockerd = &lab.Dockerd{Dir: dir, Cmd: []string{"dockerd"},
		Flags: []string{"--ipv6", "--fixed-cidr-v6", dockerNet6, "--experimental", "--ip6tables"}}
	docker = dockerd.Client()
	steps := append(lab.Prepare(dir), "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1")
	steps = append(steps, lab.External(extNS, []string{hostAddr}, []string{clientAddr})...)
	steps = append(steps,
		"ip addr add "+host6+"/64 dev ext0 nodad",
		fmt.Sprintf("ip netns exec %s sh -c 'ip addr add %s/64 dev ext1 nodad; ip addr add %s/64 dev ext1 nodad'", extNS, client6, denied6),
		"ufw allow 22/tcp && ufw --force enable",
	)
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
	for _, s := range []string{
		docker + " import " + tar + " bb:1",
		docker + " run -d --restart always --name web -p 8080:80 bb:1 " + httpdScript + " web 80",
		docker + " network create v4net",
		docker + " run -d --restart always --name pv4 --network v4net -p 8088:80 bb:1 " + httpdScript + " p 80",
	} {
		if _, err := lab.Sh(s); err != nil {
			return stop, err
		}
	}
	// Neighbour discovery and Docker's IPv6 rules settle before the first
	// matrix: wait until web answers over IPv6 (it does before install).
	err = lab.WaitFor(15*time.Second, func() error {
		if !open(client6, host6, 8080, "web") {
			return fmt.Errorf("web does not answer over IPv6")
		}
		return nil
	})
	return stop, err
}

// open reports whether a web page on the host's port answers the external
// client at source (either family) with want.
func open(source, addr string, port int, want string) bool {
	out, _ := exec.Command("ip", "netns", "exec", extNS, "curl", "-g", "-s", "-m", "1", "--interface", source,
		fmt.Sprintf("http://[%s]:%d/", addr, port)).Output()
	if !strings.Contains(addr, ":") {
		out, _ = exec.Command("ip", "netns", "exec", extNS, "curl", "-s", "-m", "1", "--interface", source,
			fmt.Sprintf("http://%s:%d/", addr, port)).Output()
	}
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
