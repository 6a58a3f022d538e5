// Package docker asks the Docker Engine API what Docker's rules may not say
// at a given moment: which Linux bridges its networks use. It speaks the
// API's JSON over the daemon's socket with net/http, reading only the few
// fields it needs.
package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

// Network is what we read of a Docker network (GET /networks).
type Network struct {
	ID      string            `json:"Id"`
	Name    string            `json:"Name"`
	Driver  string            `json:"Driver"`
	Options map[string]string `json:"Options"`
}

// BridgeNameOption names a bridge network's Linux bridge when it is not the
// default br-<first 12 characters of the network's ID> (docker0 for the
// default network, a name of the user's for any other).
const BridgeNameOption = "com.docker.network.bridge.name"

// Bridge returns the Linux bridge of a network of the bridge driver, or ""
// for other drivers.
func (n Network) Bridge() string {
	if n.Driver != "bridge" {
		return ""
	}
	if name := n.Options[BridgeNameOption]; name != "" {
		return name
	}
	if len(n.ID) < 12 {
		return ""
	}
	return "br-" + n.ID[:12]
}

// API is what we ask the Docker Engine API; Client asks dockerd, Fake
// answers in tests.
type API interface {
	Networks(ctx context.Context) ([]Network, error)
}

// Bridges returns the Linux bridges of Docker's bridge networks, sorted.
func Bridges(ctx context.Context, api API) ([]string, error) {
	nets, err := api.Networks(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range nets {
		if b := n.Bridge(); b != "" && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	slices.Sort(out)
	return out, nil
}

// DefaultSocket is dockerd's socket when DOCKER_HOST does not say another.
const DefaultSocket = "/var/run/docker.sock"

// ErrNotRunning says there is no dockerd socket to ask.
var ErrNotRunning = errors.New("dockerd's socket is not there")

// Client asks dockerd over its unix socket.
type Client struct {
	// Socket is the path of dockerd's socket (SocketFromEnv).
	Socket string
	// Timeout bounds one request: a stopped or hung dockerd must not hold
	// up a repair (half a second when zero; a dockerd that answers takes a
	// few milliseconds).
	Timeout time.Duration
}

// SocketFromEnv returns the socket DOCKER_HOST names (unix:// only), or
// DefaultSocket.
func SocketFromEnv() string {
	if p, ok := strings.CutPrefix(os.Getenv("DOCKER_HOST"), "unix://"); ok && p != "" {
		return p
	}
	return DefaultSocket
}

// Networks lists Docker's networks.
func (c Client) Networks(ctx context.Context) ([]Network, error) {
	if _, err := os.Stat(c.Socket); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotRunning, c.Socket)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// One connection a request, closed after it: the watcher asks on every
	// pass, and a transport per call keeping its idle connection would leak
	// a descriptor and two goroutines each time.
	hc := http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", c.Socket)
	}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/networks", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking dockerd for its networks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("asking dockerd for its networks: %s", resp.Status)
	}
	var nets []Network
	if err := json.NewDecoder(resp.Body).Decode(&nets); err != nil {
		return nil, fmt.Errorf("reading dockerd's networks: %w", err)
	}
	return nets, nil
}

// Fake answers as a dockerd with Nets would, or fails with Err.
type Fake struct {
	Nets []Network
	Err  error
}

// Networks returns f.Nets, or f.Err.
func (f Fake) Networks(context.Context) ([]Network, error) { return f.Nets, f.Err }
