package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/test/lab"
)

// TestGuardCoversDockerProxy: an iptables-restore (without -n) of a bare
// ruleset wipes UFW's chains, ours and Docker's DNAT rules, and sets every
// policy to ACCEPT. A connection to a published port then reaches
// docker-proxy through INPUT, where no chain of iptables is left to stop it:
// the guard's input chain, fed with the ports Docker publishes, does. Without
// the guard the same connection gets the container's page.
func TestGuardCoversDockerProxy(t *testing.T) {
	fresh(t)
	mustBin(t, "install")
	defer func() {
		runBin("uninstall")
		mustSh(t, "ufw reload")
		restartDockerd(t)
	}()
	if set := mustSh(t, "nft list set inet ufw-docker-bridge published"); !strings.Contains(set, "tcp . 8080") {
		t.Fatalf("the guard does not know Docker's published port 8080:\n%s", set)
	}
	// The watcher keeps the set with Docker's ports: a container published
	// while it runs enters it, and leaves it when removed.
	w := startWatcher(t)
	setHas := func(port string) func() error {
		return func() error {
			if !strings.Contains(mustSh(t, "nft list set inet ufw-docker-bridge published"), "tcp . "+port) {
				return fmt.Errorf("port %s is not in the guard's set", port)
			}
			return nil
		}
	}
	mustSh(t, docker+" run -d --name late2 -p 8097:80 bb:1 sleep 100000")
	if err := lab.WaitFor(5*time.Second, setHas("8097")); err != nil {
		t.Error(err)
	}
	mustSh(t, docker+" rm -f late2")
	if err := lab.WaitFor(5*time.Second, func() error {
		if setHas("8097")() == nil {
			return fmt.Errorf("port 8097 is still in the guard's set")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	w.Stop(t)
	bare := "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n" +
		"*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
	mustSh(t, "printf '"+bare+"' | iptables-restore")
	if out := mustSh(t, "iptables-save -t nat 2>/dev/null"); strings.Contains(out, "DNAT") {
		t.Fatalf("the clobber left Docker's DNAT rules:\n%s", out)
	}
	// docker-proxy still listens: with the DNAT gone the page comes from it.
	p, err := lab.StartProber("/run/netns/"+extNS, clientAddr, hostAddr+":8080", 20, 250*time.Millisecond, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	attempts, leaks := p.Stop()
	t.Logf("guard in place: %d probes of port 8080 through INPUT, %d got through", attempts, leaks)
	if leaks != 0 || attempts < 100 {
		t.Errorf("%d of %d probes reached docker-proxy with the guard in place", leaks, attempts)
	}
	// The counterfactual: without the guard, docker-proxy answers.
	mustSh(t, "nft delete table inet ufw-docker-bridge")
	expect(t, "no iptables rules, no guard", map[probe]bool{web: true})
	// Back to the lab's state: Docker's rules, then ours and the guard.
	restartDockerd(t)
	mustBin(t, "sync")
	expect(t, "after dockerd restart and sync", map[probe]bool{web: false})
}
