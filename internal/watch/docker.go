package watch

import (
	"context"
	"log/slog"
	"time"
)

// DockerEvents triggers a pass on every container event dockerd reports
// (start, die, rename, destroy): a rule by container name follows the ports
// Docker publishes for it. Docker writes a container's DNAT rules before its
// API lists the container's ports, so the ruleset change alone may come too
// early. A broken or missing stream is opened again every Retry.
type DockerEvents struct {
	// Events streams the events (docker.Client.Events).
	Events func(ctx context.Context, fn func()) error
	Retry  time.Duration
	Log    *slog.Logger
}

// Name names the source in logs.
func (DockerEvents) Name() string { return "docker events" }

// Run follows the stream until ctx ends. While dockerd is down no pass is
// triggered here: its start writes its rules, and that change triggers one.
func (d DockerEvents) Run(ctx context.Context, trigger func()) error {
	retry := d.Retry
	if retry == 0 {
		retry = 2 * time.Second
	}
	logged := false
	for ctx.Err() == nil {
		err := d.Events(ctx, trigger)
		if ctx.Err() != nil {
			return nil
		}
		if !logged && d.Log != nil {
			d.Log.Info("docker events: not followed for now; retrying", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
	}
	return nil
}
