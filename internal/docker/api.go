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
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/unixhttp"
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

// Container is what we read of a container (GET /containers/json): its
// names, labels (compose's project and service), published ports and the
// networks it is on.
type Container struct {
	ID              string            `json:"Id"`
	Names           []string          `json:"Names"`
	Labels          map[string]string `json:"Labels"`
	Ports           []Port            `json:"Ports"`
	NetworkSettings struct {
		Networks map[string]struct {
			IPAddress string `json:"IPAddress"`
		} `json:"Networks"`
	} `json:"NetworkSettings"`
}

// Port is one port of a container; PublicPort is 0 when it is not
// published.
type Port struct {
	IP          string `json:"IP"`
	PrivatePort uint16 `json:"PrivatePort"`
	PublicPort  uint16 `json:"PublicPort"`
	Type        string `json:"Type"`
}

// Compose's labels on the containers it makes.
const (
	ComposeProjectLabel = "com.docker.compose.project"
	ComposeServiceLabel = "com.docker.compose.service"
)

// Name is the container's name, without Docker's leading "/".
func (c Container) Name() string {
	if len(c.Names) == 0 {
		return c.ID
	}
	return strings.TrimPrefix(c.Names[0], "/")
}

// Service is "project/service" for a container compose made, else "".
func (c Container) Service() string {
	if c.Labels[ComposeServiceLabel] == "" {
		return ""
	}
	return c.Labels[ComposeProjectLabel] + "/" + c.Labels[ComposeServiceLabel]
}

// Networks are the names of the networks the container is on, sorted.
func (c Container) Networks() []string {
	var out []string
	for n := range c.NetworkSettings.Networks {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// API is what we ask the Docker Engine API; Client asks dockerd, Fake
// answers in tests.
type API interface {
	Networks(ctx context.Context) ([]Network, error)
	Containers(ctx context.Context) ([]Container, error)
	// ServiceTasks maps the ID of each container that runs a task of a
	// Swarm service to the service's name, as the swarm's manager knows
	// them (GET /tasks, /services): a container's own labels may claim any
	// service. Not a manager (no swarm): none, and no error.
	ServiceTasks(ctx context.Context) (map[string]string, error)
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
	var nets []Network
	return nets, c.get(ctx, "/networks", "networks", &nets)
}

// Containers lists Docker's running containers.
func (c Client) Containers(ctx context.Context) ([]Container, error) {
	var cs []Container
	return cs, c.get(ctx, "/containers/json", "containers", &cs)
}

// ServiceTasks asks the swarm's manager which containers run which
// service's tasks. A node that is no manager (Docker says so with 503) has
// none.
func (c Client) ServiceTasks(ctx context.Context) (map[string]string, error) {
	var services []struct {
		ID   string `json:"ID"`
		Spec struct {
			Name string `json:"Name"`
		} `json:"Spec"`
	}
	if err := c.get(ctx, "/services", "services", &services); err != nil {
		if errors.Is(err, errNotManager) {
			return map[string]string{}, nil
		}
		return nil, err
	}
	var tasks []struct {
		ServiceID string `json:"ServiceID"`
		Status    struct {
			ContainerStatus struct {
				ContainerID string `json:"ContainerID"`
			} `json:"ContainerStatus"`
		} `json:"Status"`
	}
	if err := c.get(ctx, "/tasks?filters="+url.QueryEscape(`{"desired-state":["running"]}`), "tasks", &tasks); err != nil {
		return nil, err
	}
	names := make(map[string]string, len(services))
	for _, s := range services {
		names[s.ID] = s.Spec.Name
	}
	out := map[string]string{}
	for _, t := range tasks {
		if id, name := t.Status.ContainerStatus.ContainerID, names[t.ServiceID]; id != "" && name != "" {
			out[id] = name
		}
	}
	return out, nil
}

// errNotManager is dockerd's answer to a swarm question on a node that is
// no swarm manager (503 Service Unavailable).
var errNotManager = errors.New("this node is not a swarm manager")

// containerEvents are the container events after which the ports Docker
// publishes for a name may have changed.
const containerEvents = `{"type":["container"],"event":["start","die","rename","destroy"]}`

// Events calls fn for every container event dockerd reports (start, die,
// rename, destroy) until ctx ends or the stream breaks, and returns why.
func (c Client) Events(ctx context.Context, fn func()) error {
	resp, err := c.open(ctx, "/events?filters="+url.QueryEscape(containerEvents), "events")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var ev struct{}
		if err := dec.Decode(&ev); err != nil {
			return fmt.Errorf("reading dockerd's events: %w", err)
		}
		fn()
	}
}

// get reads the JSON answer to GET path into v within the client's
// timeout; what names it in errors.
func (c Client) get(ctx context.Context, path, what string, v any) error {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := c.open(ctx, path, what)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("reading dockerd's %s: %w", what, err)
	}
	return nil
}

// open sends GET path to dockerd and returns its answer, which the caller
// closes; what names it in errors.
func (c Client) open(ctx context.Context, path, what string) (*http.Response, error) {
	if _, err := os.Stat(c.Socket); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotRunning, c.Socket)
	}
	resp, err := unixhttp.Get(ctx, c.Socket, path)
	if err != nil {
		return nil, fmt.Errorf("asking dockerd for its %s: %w", what, err)
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		resp.Body.Close()
		return nil, fmt.Errorf("asking dockerd for its %s: %w", what, errNotManager)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("asking dockerd for its %s: %s", what, resp.Status)
	}
	return resp, nil
}

// Fake answers as a dockerd with Nets, Conts and Tasks (container ID ->
// service) would, or fails with Err.
type Fake struct {
	Nets  []Network
	Conts []Container
	Tasks map[string]string
	Err   error
}

// ServiceTasks returns f.Tasks, or f.Err.
func (f Fake) ServiceTasks(context.Context) (map[string]string, error) { return f.Tasks, f.Err }

// Networks returns f.Nets, or f.Err.
func (f Fake) Networks(context.Context) ([]Network, error) { return f.Nets, f.Err }

// Containers returns f.Conts, or f.Err.
func (f Fake) Containers(context.Context) ([]Container, error) { return f.Conts, f.Err }
