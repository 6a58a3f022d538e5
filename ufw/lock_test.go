package ufw

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Hold waits while another process holds the lock as ufw does (Python's
// fcntl.lockf), and takes it once that process lets go.
func TestHoldUFWWaitsForUFW(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to hold the lock as ufw does")
	}
	path := filepath.Join(t.TempDir(), "ufw.lock")
	holder := exec.Command(py, "-c", "import fcntl,sys,time\nf=open(sys.argv[1],'w')\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint('held',flush=True)\ntime.sleep(1)", path)
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || !strings.HasPrefix(string(buf), "held") {
		t.Fatalf("the holder did not take the lock: %q %v", buf, err)
	}
	// The holder's stdout closes as it exits, which releases its lock.
	exited := make(chan struct{})
	go func() { out.Read(make([]byte, 1)); holder.Wait(); close(exited) }()
	release, err := Hold(path)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	select {
	case <-exited:
	case <-time.After(200 * time.Millisecond):
		t.Error("Hold took the lock while the holder still held it")
	}
}
