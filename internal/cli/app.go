// Package cli is the command line of ufw-docker-bridge: it parses, calls the
// engine or the backend, and prints text or JSON. Usage errors exit 2,
// failures 1.
package cli

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
	"github.com/urfave/cli/v2"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/firewalld"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/backend"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/discover"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/engine"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/iptables"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/nft"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/plan"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/runner"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/state"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/ufw"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Name is the program's name in messages.
const Name = "ufw-docker-bridge"

// Version is the program's version; `make` sets it from git with -ldflags.
var Version = "0.1.0-dev"

// Deps are the edges the commands use; Run builds the real ones, tests may
// pass others.
type Deps struct {
	Runner runner.Runner
	// Bridges lists the host's bridges (discover.Netlink by default).
	Bridges func() ([]discover.Bridge, error)
	// LocalAddrs lists the host's own addresses (discover.Netlink by default).
	LocalAddrs func() ([]netip.Addr, error)
	// Uplinks lists the interfaces of the default routes (discover.Netlink
	// by default).
	Uplinks func() ([]string, error)
	// RouteIface says which interface the host routes an address to
	// (discover.Netlink by default).
	RouteIface func(netip.Addr) (string, error)
	// NFTTables lists the nftables inet tables (nft.ListTables by default).
	NFTTables func() ([]string, error)
	// AllNFTTables lists every nftables table as "FAMILY NAME"
	// (nft.AllTables by default).
	AllNFTTables func() ([]string, error)
	// DockerNFT says, per family, whether Docker runs its nftables backend
	// (nft.DockerNFT by default).
	DockerNFT func() (map[rules.Family]bool, error)
	// DockerNFTChains lists the chains of Docker's nftables tables
	// (nft.DockerNFTChains by default).
	DockerNFTChains func() ([]string, error)
	// SystemBus connects to the system bus (godbus's shared connection by
	// default), where firewalld is.
	SystemBus func() (firewalld.Bus, error)
	// IPv6Missing says why the host cannot filter IPv6 with ip6tables, or
	// "" (discover.IPv6Missing by default).
	IPv6Missing func() string
	// UFWDefaults is UFW's defaults file (ufw.DefaultsPath by default).
	UFWDefaults string
	// Docker is the Docker Engine API (docker.Client on DOCKER_HOST's socket
	// or /var/run/docker.sock by default).
	Docker docker.API
	// DefaultStateDir is --state-dir's default (state.DefaultDir by
	// default), where the package installs.
	DefaultStateDir string
	// SetElements writes the elements of our address sets
	// (nft.NetlinkElements by default).
	SetElements nft.SetElements
	// Guests finds forwards' guests' addresses (discover.Guests over LXD's
	// and Incus' API sockets and virsh by default).
	Guests engine.Guests
}

func usagef(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), ExitUsage)
}

// Run runs the command line args (args[0] is the program) and returns the
// exit code; errors are printed to stderr as one line.
func Run(args []string, stdout, stderr io.Writer, deps Deps) int {
	if deps.Runner == nil {
		deps.Runner = runner.Exec{}
	}
	if deps.Bridges == nil {
		deps.Bridges = discover.Netlink{}.Bridges
	}
	if deps.LocalAddrs == nil {
		deps.LocalAddrs = discover.Netlink{}.LocalAddrs
	}
	if deps.Docker == nil {
		deps.Docker = docker.Client{Socket: docker.SocketFromEnv()}
	}
	if deps.Guests == nil {
		deps.Guests = discover.Guests{Sockets: discover.GuestSockets(), Runner: deps.Runner}
	}
	if deps.DefaultStateDir == "" {
		deps.DefaultStateDir = state.DefaultDir
	}
	if deps.UFWDefaults == "" {
		deps.UFWDefaults = ufw.DefaultsPath
	}
	if deps.IPv6Missing == nil {
		deps.IPv6Missing = discover.IPv6Missing
	}
	// Asked by the backend, the NAT reader, status and doctor: once.
	deps.IPv6Missing = sync.OnceValue(deps.IPv6Missing)
	if deps.Uplinks == nil {
		deps.Uplinks = discover.Netlink{}.Uplinks
	}
	if deps.RouteIface == nil {
		deps.RouteIface = discover.Netlink{}.RouteIface
	}
	if deps.DockerNFT == nil {
		deps.DockerNFT = nft.DockerNFT
	}
	if deps.DockerNFTChains == nil {
		deps.DockerNFTChains = nft.DockerNFTChains
	}
	if deps.NFTTables == nil {
		deps.NFTTables = nft.ListTables
	}
	if deps.AllNFTTables == nil {
		deps.AllNFTTables = nft.AllTables
	}
	if deps.SystemBus == nil {
		deps.SystemBus = func() (firewalld.Bus, error) { return dbus.SystemBus() }
	}
	if deps.SetElements == nil {
		deps.SetElements = nft.NetlinkElements{}
	}
	app := newApp(stdout, stderr, deps)
	app.Metadata = map[string]any{defaultStateDir: deps.DefaultStateDir, explicitStateDir: slices.ContainsFunc(args, func(a string) bool {
		return a == "--state-dir" || a == "-state-dir" || strings.HasPrefix(a, "--state-dir=") || strings.HasPrefix(a, "-state-dir=")
	})}
	err := app.Run(args)
	if err == nil {
		return ExitOK
	}
	code := ExitFailure
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	// urfave/cli reports a missing required flag with an error of its own.
	var damaged *state.FileError
	if !errors.As(err, &damaged) && errors.Is(err, rules.ErrSyntax) || strings.HasPrefix(err.Error(), "Required flag") {
		code = ExitUsage
	}
	if msg := oneLine(err.Error()); msg != "" {
		fmt.Fprintf(stderr, "%s: %s\n", Name, msg)
	}
	return code
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

func newApp(stdout, stderr io.Writer, deps Deps) *cli.App {
	app := &cli.App{
		Name:  Name,
		Usage: "make UFW the source of truth for Docker's published ports",
		Description: "Docker publishes container ports with iptables rules that run before UFW's, so `ufw deny` " +
			"does not protect them. `install` closes every published port by default; `allow PORT[/PROTO] " +
			"[from ADDR]` opens one (host ports, as `docker run -p` names them), `deny from ADDR` keeps a " +
			"source away, and `ufw route` rules keep working. `watch` (the ufw-docker-bridge service) repairs " +
			"the rules whenever Docker, UFW, firewalld or anything else rewrites them, and an nftables guard " +
			"table keeps the ports closed meanwhile. The rules live in /etc/ufw-docker-bridge/rules; the " +
			"blocks in /etc/ufw/after.rules and after6.rules are rendered from them.",
		Version:         Version,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError:    usageExit,
		Before:          checkPaths,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ufw-dir", Value: "/etc/ufw", EnvVars: []string{"UFW_DOCKER_BRIDGE_UFW_DIR"}, Usage: "UFW's configuration directory"},
			&cli.StringFlag{Name: "state-dir", Value: deps.DefaultStateDir, EnvVars: []string{stateDirEnv}, Usage: "where the rules are kept"},
			&cli.StringFlag{Name: "lock", Value: "/run/ufw-docker-bridge.lock", EnvVars: []string{"UFW_DOCKER_BRIDGE_LOCK"}, Usage: "the lock every writer takes"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("unknown command %q (see --help)", c.Args().First())
			}
			cli.ShowAppHelp(c)
			return usagef("missing command")
		},
		Commands: []*cli.Command{
			installCommand(deps), uninstallCommand(deps),
			ruleCommand(deps, rules.Allow), ruleCommand(deps, rules.Deny), ruleCommand(deps, rules.Bridge), forwardCommand(deps), deleteCommand(deps),
			applyCommand(deps), exportCommand(deps), logRateCommand(deps),
			listCommand(deps), statusCommand(deps), syncCommand(deps), watchCommand(deps), doctorCommand(deps),
			explainCommand(deps), historyCommand(deps), restoreCommand(deps), setCommand(deps), labelRulesCommand(deps), importCommand(deps),
		},
	}
	onUsageAll(app.Commands)
	return app
}

// usageExit is urfave/cli's usage error as one line and exit 2.
func usageExit(_ *cli.Context, err error, _ bool) error { return cli.Exit(err.Error(), ExitUsage) }

// onUsageAll gives every command and subcommand (set add, set load, ...)
// the one-line usage error: urfave/cli's own prints the whole help and
// exits 1.
func onUsageAll(cmds []*cli.Command) {
	for _, cmd := range cmds {
		cmd.OnUsageError = usageExit
		onUsageAll(cmd.Subcommands)
	}
}

// guardWriter is the netlink writer of the guard's sets of published ports
// where the element writer is one (NetlinkElements); nil: nft writes them.
func guardWriter(deps Deps) nft.GuardWriter {
	w, _ := deps.SetElements.(nft.GuardWriter)
	return w
}

// sums is where the listings of our nftables tables and the writers'
// tokens are remembered (nft.Sums): beside the lock, under /run,
// "/run/ufw-docker-bridge.tables".
func sums(c *cli.Context) nft.Sums {
	return nft.Sums{Dir: strings.TrimSuffix(c.String("lock"), ".lock") + ".tables"}
}

// needRoot refuses, before any side effect, a command that changes or reads
// the live firewall when the process is not root.
func needRoot(c *cli.Context) error {
	if os.Geteuid() != 0 {
		return cli.Exit(fmt.Sprintf("%s needs root: it reads and changes the firewall (try sudo)", c.Command.Name), ExitFailure)
	}
	return nil
}

// env builds the engine from the global flags, for the host firewall fw.
func env(c *cli.Context, deps Deps, fw plan.Firewall) *engine.Engine {
	store := state.Store{Dir: c.String("state-dir")}
	tables := iptables.Tables{Runner: deps.Runner}
	written := sums(c)
	e := &engine.Engine{
		Store: store,
		Backend: &backend.Backend{
			Dir:             c.String("ufw-dir"),
			Firewall:        fw,
			Net:             tables,
			BackupDir:       store.BackupDir(),
			Source:          store.RulesPath(),
			DockerNFT:       deps.DockerNFT,
			DockerNFTChains: deps.DockerNFTChains,
			Unmanaged:       unmanaged(deps, fw),
			DockerAPI:       deps.Docker,
		},
		Guard: nft.Guard{Runner: deps.Runner, Tables: tables, Last: &nft.Elements{}, Sums: written, Writer: guardWriter(deps)},
		Sets:  nft.Sets{Runner: deps.Runner, Elements: deps.SetElements, Sums: written},
		NAT: nft.NAT{Runner: deps.Runner, Tables: tables, Bridges: deps.Bridges, List: deps.NFTTables, Uplinks: deps.Uplinks,
			Families: readable(deps), Sums: written},
		Guests:   deps.Guests,
		LockPath: c.String("lock"),
		Out:      c.App.Writer,
	}
	if fw == plan.UFW {
		e.Backend.UFWLock = ufw.LockPath
	}
	e.Backend.KeepDir = store.JournalPath()
	e.Backend.Warn = func(m string) { fmt.Fprintln(e.Out, "warning: "+m) }
	if fw.Profile().OwnFiles {
		e.Backend.Dir = store.Dir
	}
	if fw.Profile().Zones {
		e.Zones = firewalld.Guests{ConfigDir: "/etc/firewalld", Connect: func() (*firewalld.Client, error) {
			bus, err := deps.SystemBus()
			if err != nil {
				return nil, fmt.Errorf("connecting to the system bus: %w", err)
			}
			return &firewalld.Client{Bus: bus}, nil
		}}
	}
	return e
}

// chooseFirewall is install's choice of a firewall to sit next to, for
// --backend asked: firewalld when asked for or, with auto, when it runs
// (not running when asked for is an error); plain iptables when asked for
// or, with auto, when UFW is not enabled; else UFW. What we are installed
// next to is installedFirewall's.
func chooseFirewall(c *cli.Context, deps Deps, asked string) (plan.Firewall, error) {
	running := false
	if bus, err := deps.SystemBus(); err == nil {
		running = firewalld.Running(bus)
	}
	switch {
	case asked == "firewalld" && !running:
		return plan.UFW, cli.Exit("firewalld is not running (start it, or install with --backend ufw or iptables)", ExitFailure)
	case asked == "firewalld" || (asked == "auto" && running):
		return plan.FirewallD, nil
	case asked == "iptables" || (asked == "auto" && !ufw.Enabled(c.String("ufw-dir"))):
		return plan.IPTables, nil
	}
	return plan.UFW, nil
}

// installed returns the engine for the firewall we are installed next to:
// firewalld or plain iptables when our own file of that name is in the state
// directory, else UFW.
func installed(c *cli.Context, deps Deps) *engine.Engine {
	fw, _ := installedFirewall(c)
	return env(c, deps, fw)
}

// installedFirewall returns the firewall we are installed next to, and
// whether we are: from the installed record, else (an installation from
// before the record) the firewall whose files hold our block (UFW when none
// does).
func installedFirewall(c *cli.Context) (plan.Firewall, bool) {
	if rec, ok, err := (state.Store{Dir: c.String("state-dir")}).Record(); err == nil && ok {
		for _, fw := range []plan.Firewall{plan.UFW, plan.FirewallD, plan.IPTables} {
			if fw.String() == rec.Backend {
				return fw, true
			}
		}
	}
	for _, fw := range []plan.Firewall{plan.FirewallD, plan.IPTables} {
		probe := &backend.Backend{Dir: c.String("state-dir"), Firewall: fw}
		if inst, err := probe.Installed(); err == nil && (inst[rules.IPv4] || inst[rules.IPv6]) {
			return fw, true
		}
	}
	probe := &backend.Backend{Dir: c.String("ufw-dir")}
	inst, err := probe.Installed()
	return plan.UFW, err == nil && (inst[rules.IPv4] || inst[rules.IPv6])
}

// noArgs refuses positional arguments of commands that take none.
func noArgs(c *cli.Context) error {
	if c.Args().Present() {
		return usagef("%s takes no arguments, got %q", c.Command.Name, c.Args().First())
	}
	return nil
}

var dryRunFlag = &cli.BoolFlag{Name: "dry-run", Usage: "print what would change and change nothing"}
