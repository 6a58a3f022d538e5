package neighbours

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// portsLine is a line of status --ports --json.
type portsLine struct {
	Address, Proto, Container, Service string
	Port                               uint16
	OpenTo                             string `json:"open_to"`
}

func statusPorts(t *testing.T) map[string]portsLine {
	t.Helper()
	var out struct{ Ports []portsLine }
	text := mustBin(t, "status", "--ports", "--json")
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		t.Fatalf("status --ports --json: %v\n%s", err, text)
	}
	t.Log(mustBin(t, "status", "--ports"))
	m := map[string]portsLine{}
	for _, p := range out.Ports {
		m[fmt.Sprintf("%s:%d/%s", p.Address, p.Port, p.Proto)] = p
	}
	return m
}

// TestStatusPorts: status --ports names every published port of the lab
// with its container (and compose service), and what it says of who may
// connect matches what real packets from the external namespace find:
// before install, after install, with an allow, an allow set, a deny, and a
// port bound to loopback.
func TestStatusPorts(t *testing.T) {
	fresh(t)
	mustSh(t, docker+" rm -f shopapi loop >/dev/null 2>&1; "+
		docker+" run -d --name shopapi --label com.docker.compose.project=shop --label com.docker.compose.service=api -p 8443:80 bb:1 "+httpdScript+" shopapi 80 && "+
		docker+" run -d --name loop -p 127.0.0.1:7070:80 bb:1 "+httpdScript+" loop 80")
	defer lab.Sh(docker + " rm -f shopapi loop")
	// check compares each port's line with packets from clientAddr and office.
	check := func(t *testing.T, title string) {
		t.Helper()
		ports := statusPorts(t)
		var cells []lab.Cell
		for _, name := range []struct {
			key, container, want string
			port                 int
		}{
			{"0.0.0.0:8080/tcp", "web", "web", 8080},
			{"0.0.0.0:9443/tcp", "admin", "admin", 9443},
			{"0.0.0.0:9999/tcp", "closed", "closed", 9999},
			{"0.0.0.0:8443/tcp", "shopapi", "shopapi", 8443},
			{"127.0.0.1:7070/tcp", "loop", "loop", 7070},
		} {
			p, ok := ports[name.key]
			if !ok || p.Container != name.container {
				t.Errorf("%s: status --ports has no line for %s of %s: %+v", title, name.key, name.container, ports)
				continue
			}
			for _, src := range []string{clientAddr, office} {
				allowed, except, _ := strings.Cut(p.OpenTo, " except ")
				says := (allowed == "everyone" || strings.HasPrefix(allowed, "everyone (not installed") ||
					strings.Contains(allowed, src) || src == office && strings.Contains(allowed, "@office")) &&
					!strings.Contains(except, src)
				cells = append(cells, lab.Cell{Name: fmt.Sprintf("%s from %s (status: %s)", name.key, src, p.OpenTo),
					Got: open(src, name.port, name.want), Want: says})
			}
		}
		if p := ports["0.0.0.0:8443/tcp"]; p.Service != "shop/api" {
			t.Errorf("the compose service of shopapi: %q", p.Service)
		}
		lab.Matrix(t, title, cells)
	}
	check(t, "before install")
	mustBin(t, "install")
	check(t, "installed, no rule")
	mustBin(t, "allow", "8080")
	mustBin(t, "set", "add", "office", office)
	mustBin(t, "allow", "9443/tcp", "from", "@office")
	mustBin(t, "allow", "8443/tcp", "from", office)
	check(t, "allow 8080, allow 9443/tcp from @office, allow 8443/tcp from "+office)
	mustBin(t, "allow", "7070")
	mustBin(t, "deny", "from", office)
	check(t, "allow 7070 (bound to loopback), deny from "+office)
	mustBin(t, "uninstall")
}
