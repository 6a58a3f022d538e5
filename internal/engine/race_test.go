package engine

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/docker"
	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/rules"
)

// noGuests is a guests' manager that knows none.
type noGuests struct{}

func (noGuests) Addrs(context.Context, string) ([]netip.Addr, error) {
	return nil, errors.New("no such guest")
}

// The metrics read the live rules beside the watcher's passes: Resolve
// reads nothing a pass writes and writes nothing, so with passes running
// it needs no copy of the engine (run with -race: make unit does).
// LiveLabelled, the passes' own, says a guest's note once while it lasts.
func TestResolveBesidePasses(t *testing.T) {
	ctx := context.Background()
	e, out := newEngine(t, newKernel(), &guard{})
	e.Guests = noGuests{}
	e.Backend.DockerAPI = docker.Fake{Conts: []docker.Container{
		{ID: "w1", Names: []string{"/web"}, Ports: []docker.Port{{IP: "0.0.0.0", PublicPort: 8080, PrivatePort: 80, Type: "tcp"}}},
		{ID: "l1", Names: []string{"/lbl"}, Labels: map[string]string{rules.AllowLabel: "80 from nowhere"}},
	}}
	if err := e.Install(ctx, false); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"allow to web", "forward 2222 to vm1:22", "label-rules on"} {
		if err := e.Change(ctx, rule(t, l), false); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := e.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 10; i++ {
			if _, err := e.Sync(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 50; i++ {
		live, _, notes := e.Resolve(ctx, rs)
		if len(live.Of(rules.Allow)) != 1 || len(notes.Guests) != 1 || len(notes.Rules) != 1 {
			t.Fatalf("resolve beside the passes: %v %+v", live, notes)
		}
	}
	wg.Wait()
	if n := strings.Count(out.String(), "note: forward to vm1 opens nothing"); n != 1 {
		t.Errorf("the guest's note was said %d times over the passes, want once:\n%s", n, out)
	}
}
