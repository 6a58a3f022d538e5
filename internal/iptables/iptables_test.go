package iptables

import (
	"context"
	"strings"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/runner"
)

type scripted map[string]struct {
	out string
	err error
}

func (s scripted) Run(_ context.Context, name string, args []string, _ []byte) ([]byte, error) {
	r, ok := s[strings.TrimSpace(name+" "+strings.Join(args, " "))]
	if !ok {
		return nil, &runner.ExecError{Cmd: name, Code: 127, Stderr: "not found"}
	}
	return []byte(r.out), r.err
}

func TestRestoreQuotesTheFailingLine(t *testing.T) {
	s := scripted{"iptables-restore --noflush --wait": {err: &runner.ExecError{Cmd: "iptables-restore", Code: 2, Stderr: "iptables-restore: line 2 failed\n"}}}
	err := Tables{Runner: s}.Restore(context.Background(), rules.IPv4, "*filter\n-A X -j NOPE\nCOMMIT\n", false)
	if err == nil || !strings.Contains(err.Error(), `input line 2: "-A X -j NOPE"`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("got %v", err)
	}
}

func TestCheckNotMixed(t *testing.T) {
	mixed := scripted{
		"iptables --version":      {out: "iptables v1.8.9 (nf_tables)\n"},
		"iptables-legacy-save":    {out: "*filter\n:DOCKER-USER - [0:0]\nCOMMIT\n"},
		"iptables-save -t filter": {out: "*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"},
	}
	if _, err := (Tables{Runner: mixed}).CheckNotMixed(context.Background()); err == nil {
		t.Error("docker on legacy with nft as the system's iptables was not refused")
	}
	same := scripted{
		"iptables --version":   {out: "iptables v1.8.9 (nf_tables)\n"},
		"iptables-legacy-save": {out: ""},
	}
	if v, err := (Tables{Runner: same}).CheckNotMixed(context.Background()); err != nil || v != NFT {
		t.Errorf("got %v %v", v, err)
	}
}
