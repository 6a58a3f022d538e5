// Command gendocs writes the manual page and the shell completions of
// ufw-docker-bridge, generated from its command definitions, into a
// directory: ufw-docker-bridge.8, ufw-docker-bridge.bash and
// _ufw-docker-bridge (zsh).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs DIR")
		os.Exit(2)
	}
	man, err := cli.Man()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs: generating the manual page:", err)
		os.Exit(1)
	}
	files := map[string]string{
		cli.Name + ".8":    man,
		cli.Name + ".bash": cli.BashCompletion(),
		"_" + cli.Name:     cli.ZshCompletion(),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(os.Args[1], name), []byte(text), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gendocs:", err)
			os.Exit(1)
		}
	}
}
