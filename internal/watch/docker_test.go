package watch

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// Every event triggers; a broken stream is opened again, without a trigger
// of its own; the source ends with its context.
func TestDockerEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var opens, triggers atomic.Int32
	src := DockerEvents{Retry: time.Millisecond, Events: func(ctx context.Context, fn func()) error {
		if opens.Add(1) < 3 {
			return errors.New("dockerd's socket is not there")
		}
		fn()
		fn()
		<-ctx.Done()
		return ctx.Err()
	}}
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, func() { triggers.Add(1) }) }()
	deadline := time.Now().Add(2 * time.Second)
	for triggers.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil || opens.Load() != 3 || triggers.Load() != 2 {
		t.Errorf("err %v, opens %d, triggers %d", err, opens.Load(), triggers.Load())
	}
}
