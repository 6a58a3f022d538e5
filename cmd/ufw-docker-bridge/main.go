// Command ufw-docker-bridge makes the host firewall the source of truth for
// Docker's published ports.
package main

import (
	"os"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args, os.Stdout, os.Stderr, cli.Deps{}))
}
