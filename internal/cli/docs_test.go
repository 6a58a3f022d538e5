package cli

import (
	"os/exec"
	"strings"
	"testing"
)

func TestDocsNameEveryCommand(t *testing.T) {
	man, err := Man()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(man, ".TH ufw-docker-bridge 8") || !strings.Contains(man, "DESCRIPTION") {
		t.Errorf("not a section 8 page with a description:\n%.300s", man)
	}
	bash, zsh := BashCompletion(), ZshCompletion()
	commands, flags := completionWords()
	for _, c := range commands {
		if !strings.Contains(man, c.Name) || !strings.Contains(bash, "\t"+c.Name+") words=") || !strings.Contains(zsh, "\n"+c.Name+") compadd") {
			t.Errorf("command %s missing from the man page or a completion", c.Name)
		}
	}
	if !strings.Contains(bash, "--safety-interval") || len(flags["install"]) < 2 {
		t.Errorf("flags missing from the bash completion:\n%s", bash)
	}
	if sh, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command(sh, "-n", "-c", bash).CombinedOutput(); err != nil {
			t.Errorf("bash completion does not parse: %v\n%s", err, out)
		}
	}
}
