package nft

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// The writing thread bears the token while it writes, as /proc shows it,
// and its own name again after.
func TestSetThreadName(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	comm := func() string {
		b, _ := os.ReadFile("/proc/thread-self/comm")
		return strings.TrimSpace(string(b))
	}
	was, token := comm(), WriterToken()
	before := setThreadName(token)
	if got := comm(); got != token || before != was {
		t.Errorf("named %q (want %q), before %q (want %q)", got, token, before, was)
	}
	setThreadName(before)
	if got := comm(); got != was {
		t.Errorf("name after: %q, want %q", got, was)
	}
}
