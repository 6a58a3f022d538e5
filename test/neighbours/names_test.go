package neighbours

import (
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// TestAllowByName: a rule by container name, and by compose service, opens
// the host port Docker published for it; with the watcher running, the
// service re-created on another host port (compose down/up) is open there,
// and another container publishing the old port is not; a dockerd restart
// that changes addresses keeps it; a name that is not there is accepted with
// a note and takes effect when the container appears.
func TestAllowByName(t *testing.T) {
	fresh(t)
	run := func(name, publish, project string) {
		t.Helper()
		mustSh(t, docker+" rm -f "+name+" >/dev/null 2>&1; "+docker+" run -d --name "+name+
			" --label com.docker.compose.project="+project+" --label com.docker.compose.service=app -p "+publish+
			" bb:1 "+httpdScript+" "+name+" 80")
	}
	defer lab.Sh(docker + " rm -f shop-app-1 intruder later")
	run("shop-app-1", "8090:80", "shop")
	mustBin(t, "install")
	defer binExit("uninstall")
	wait := func(t *testing.T, port int, want string, open_ bool) {
		t.Helper()
		if err := lab.WaitFor(10*time.Second, func() error {
			if open(clientAddr, port, want) != open_ {
				return errNotYet
			}
			return nil
		}); err != nil {
			t.Errorf("port %d (%s) did not become open=%v", port, want, open_)
		}
	}
	if open(clientAddr, 8090, "shop-app-1") {
		t.Fatal("installed, no rule, yet 8090 is open")
	}
	mustBin(t, "allow", "80", "to", "shop/app")
	lab.Matrix(t, "allow 80 to shop/app", []lab.Cell{
		{Name: "shop-app-1 8090 from " + clientAddr, Got: open(clientAddr, 8090, "shop-app-1"), Want: true},
		{Name: "closed 9999 from " + clientAddr, Got: open(clientAddr, 9999, "closed"), Want: false},
	})
	if out := mustBin(t, "list"); !strings.Contains(out, "allow 80 to shop/app") {
		t.Errorf("list:\n%s", out)
	}
	w := lab.StartWatcher(t, bin, dir, nil)
	defer w.Kill(t)
	// compose down, then up with the service on another host port; another
	// container takes the old one.
	mustSh(t, docker+" rm -f shop-app-1")
	run("shop-app-1", "8091:80", "shop")
	mustSh(t, docker+" run -d --name intruder -p 8090:80 bb:1 "+httpdScript+" intruder 80")
	wait(t, 8091, "shop-app-1", true)
	lab.Matrix(t, "re-created on 8091; intruder on 8090", []lab.Cell{
		{Name: "shop-app-1 8091 from " + clientAddr, Got: open(clientAddr, 8091, "shop-app-1"), Want: true},
		{Name: "intruder 8090 from " + clientAddr, Got: open(clientAddr, 8090, "intruder"), Want: false},
	})
	if out := mustBin(t, "status", "--ports"); !strings.Contains(out, "shop-app-1 (shop/app)") || !strings.Contains(out, "allow 80 to shop/app") {
		t.Errorf("status --ports does not name the rule by name:\n%s", out)
	}
	// A name not there yet: accepted, with a note; open once it runs.
	out := mustBin(t, "allow", "to", "later")
	if !strings.Contains(out, "takes effect when one does") {
		t.Errorf("allow to a missing container:\n%s", out)
	}
	mustSh(t, docker+" run -d --name later -p 8092:80 bb:1 "+httpdScript+" later 80")
	wait(t, 8092, "later", true)
	// Labels are no names: a container whose creator labels it with the
	// Swarm service and the compose service "later" is not container
	// later. A rule by name for a port published on one host address
	// opens that address, not the same port another container publishes
	// on another address.
	mustSh(t, docker+" run -d --name forger --label com.docker.swarm.service.name=later --label com.docker.compose.project=x "+
		"--label com.docker.compose.service=later -p 8093:80 bb:1 "+httpdScript+" forger 80")
	mustSh(t, docker+" run -d --name pinned -p "+hostAddr+":8094:80 bb:1 "+httpdScript+" pinned 80")
	mustSh(t, docker+" run -d --name lanpin -p "+hostLAN+":8094:80 bb:1 "+httpdScript+" lanpin 80")
	defer lab.Sh(docker + " rm -f forger pinned lanpin")
	mustBin(t, "allow", "to", "pinned")
	wait(t, 8094, "pinned", true)
	mustBin(t, "sync")
	lab.Matrix(t, "labels that claim a name; one port on two host addresses", []lab.Cell{
		{Name: "later 8092 (allow to later)", Got: open(clientAddr, 8092, "later"), Want: true},
		{Name: "forger 8093, labelled as Swarm and compose service later", Got: open(clientAddr, 8093, "forger"), Want: false},
		{Name: "pinned " + hostAddr + ":8094 (allow to pinned)", Got: openAt(clientAddr, hostAddr, 8094, "pinned"), Want: true},
		{Name: "lanpin " + hostLAN + ":8094 (same port, another address)", Got: openAt(lanAddr, hostLAN, 8094, "lanpin"), Want: false},
		{Name: "lanpin " + hostLAN + ":8094 from " + clientAddr, Got: openAt(clientAddr, hostLAN, 8094, "lanpin"), Want: false},
	})
	mustBin(t, "delete", "allow", "to", "pinned")
	mustSh(t, docker+" rm -f forger pinned lanpin")
	// A dockerd restart: addresses change, the rules follow the names.
	w.Stop(t)
	dockerd.Stop()
	if err := dockerd.Start(); err != nil {
		t.Fatal(err)
	}
	// Every container of the lab again (the other tests' too), in another order.
	mustSh(t, docker+" start later intruder shop-app-1 >/dev/null && "+docker+" start $("+docker+" ps -aq) >/dev/null")
	mustBin(t, "sync")
	lab.Matrix(t, "after a dockerd restart", []lab.Cell{
		{Name: "shop-app-1 8091 from " + clientAddr, Got: open(clientAddr, 8091, "shop-app-1"), Want: true},
		{Name: "later 8092 from " + clientAddr, Got: open(clientAddr, 8092, "later"), Want: true},
		{Name: "intruder 8090 from " + clientAddr, Got: open(clientAddr, 8090, "intruder"), Want: false},
	})
}

// TestLabelRules: containers' ufw-docker-bridge.allow labels open their
// ports only with label-rules on; the watcher opens a labelled container's
// port when it starts and closes it when it goes (another container on that
// port stays closed); a malformed label is ignored whole and named; the
// rules are never stored, so nothing duplicates across restarts.
func TestLabelRules(t *testing.T) {
	fresh(t)
	defer lab.Sh(docker + " rm -f lbl badlbl other")
	labelled := func(name, label, publish string) {
		t.Helper()
		mustSh(t, docker+" rm -f "+name+" >/dev/null 2>&1; "+docker+" run -d --name "+name+" --label 'ufw-docker-bridge.allow="+label+"' -p "+publish+
			" bb:1 "+httpdScript+" "+name+" 80")
	}
	labelled("lbl", "80, 81/udp", "8095:80")
	labelled("badlbl", "80 from nowhere", "8096:80")
	mustBin(t, "install")
	defer binExit("uninstall")
	if open(clientAddr, 8095, "lbl") {
		t.Error("label-rules off (the default), yet the label opened 8095")
	}
	w := lab.StartWatcher(t, bin, dir, nil)
	defer w.Kill(t)
	mustBin(t, "label-rules", "on")
	waitOpen := func(port int, name string, want bool) bool {
		return lab.WaitFor(10*time.Second, func() error {
			if open(clientAddr, port, name) != want {
				return errNotYet
			}
			return nil
		}) == nil
	}
	if !waitOpen(8095, "lbl", true) {
		t.Error("label-rules on: the label did not open 8095")
	}
	lab.Matrix(t, "label-rules on", []lab.Cell{
		{Name: "lbl 8095 (label \"80, 81/udp\")", Got: open(clientAddr, 8095, "lbl"), Want: true},
		{Name: "badlbl 8096 (label \"80 from nowhere\")", Got: open(clientAddr, 8096, "badlbl"), Want: false},
	})
	if out := mustBin(t, "sync"); !strings.Contains(out, "container badlbl: label ufw-docker-bridge.allow ignored") {
		t.Errorf("sync does not name the bad label:\n%s", out)
	}
	if out := mustBin(t, "list"); strings.Contains(out, "to lbl") || !strings.Contains(out, "label-rules on") {
		t.Errorf("list:\n%s", out)
	}
	// A label opens its own container only: a container named like a
	// compose service (one project alone has it) opens nothing of the
	// service's.
	mustSh(t, docker+" run -d --name svc1 --label com.docker.compose.project=p --label com.docker.compose.service=lblsvc -p 8098:80 bb:1 "+
		httpdScript+" svc1 80")
	defer lab.Sh(docker + " rm -f svc1 lblsvc")
	labelled("lblsvc", "80", "8099:80")
	if !waitOpen(8099, "lblsvc", true) {
		t.Error("the label of lblsvc did not open its own port 8099")
	}
	lab.Matrix(t, "a labelled container named like a compose service", []lab.Cell{
		{Name: "lblsvc 8099 (its own label)", Got: open(clientAddr, 8099, "lblsvc"), Want: true},
		{Name: "svc1 8098 (compose service lblsvc, no rule)", Got: open(clientAddr, 8098, "svc1"), Want: false},
	})
	mustSh(t, docker+" rm -f lbl && "+docker+" run -d --name other -p 8095:80 bb:1 "+httpdScript+" other 80")
	if !waitOpen(8095, "other", false) || open(clientAddr, 8095, "other") {
		t.Error("the labelled container went, yet its port is open to the next container")
	}
	mustBin(t, "label-rules", "off")
	labelled("lbl", "80", "8097:80")
	time.Sleep(time.Second)
	if open(clientAddr, 8097, "lbl") {
		t.Error("label-rules off, yet a labelled container's port opened")
	}
	w.Stop(t)
}
