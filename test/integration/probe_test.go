package integration

import (
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

func execCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// probe is one connection from the external namespace: from a source
// address to a host port, open only when the server's own content comes back.
type probe struct {
	name string
	from string
	port int
	udp  bool
	want string // the content the server answers with
	addr string // defaults to hostAddr
}

func (p probe) key() string {
	proto := "tcp"
	if p.udp {
		proto = "udp"
	}
	return fmt.Sprintf("%s %d/%s from %s", p.name, p.port, proto, p.from)
}

// open sends the probe. TCP: curl for the web page; UDP: a datagram to the
// echo server, open when the token comes back (bash's /dev/udp cannot pick a
// source: UDP probes leave from the client's first address, clientAddr).
func (p probe) open() bool {
	addr := p.addr
	if addr == "" {
		addr = hostAddr
	}
	var script string
	if p.udp {
		script = fmt.Sprintf(`exec 3<>/dev/udp/%s/%d; echo %s >&3; timeout 1 head -c %d <&3`, addr, p.port, p.want, len(p.want))
	} else {
		script = fmt.Sprintf("curl -s -m 1 --interface %s http://%s:%d/", p.from, addr, p.port)
	}
	if p.udp {
		script = fmt.Sprintf("ip netns exec %s bash -c '%s'", extNS, script)
	} else {
		script = fmt.Sprintf("ip netns exec %s %s", extNS, script)
	}
	out, _ := exec.Command("bash", "-c", script).Output()
	return strings.TrimSpace(string(out)) == p.want
}

// reach sends all probes at once and returns which were open.
func reach(probes []probe) map[string]bool {
	res := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Add(1)
		go func(p probe) {
			defer wg.Done()
			ok := p.open()
			mu.Lock()
			res[p.key()] = ok
			mu.Unlock()
		}(p)
	}
	wg.Wait()
	return res
}

// expect asserts the reachability of every probe (true = open) and logs the
// matrix.
func expect(t testing.TB, title string, want map[probe]bool) {
	t.Helper()
	var ps []probe
	for p := range want {
		ps = append(ps, p)
	}
	got := reach(ps)
	sort.Slice(ps, func(i, j int) bool { return ps[i].key() < ps[j].key() })
	var b strings.Builder
	fmt.Fprintf(&b, "reachability %s:\n", title)
	for _, p := range ps {
		mark := "closed"
		if got[p.key()] {
			mark = "OPEN"
		}
		bad := ""
		if got[p.key()] != want[p] {
			bad = "   <-- WRONG"
		}
		fmt.Fprintf(&b, "  %-40s %s%s\n", p.key(), mark, bad)
	}
	t.Log(b.String())
	wrong := false
	for _, p := range ps {
		if got[p.key()] != want[p] {
			t.Errorf("%s: %s is %v, want %v", title, p.key(), got[p.key()], want[p])
			wrong = true
		}
	}
	if wrong {
		// What decided, for whoever reads a failure from CI.
		out, _ := lab.Sh("iptables-save -t filter; ip6tables-save -t filter | grep -c . ; iptables-save -t nat | grep -e DNAT -e '^:DOCKER'")
		t.Logf("live rules when %s:\n%s", title, out)
	}
}
