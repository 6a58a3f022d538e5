package watch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// burst fires n events at once, then waits for ctx.
type burst struct{ n int }

func (burst) Name() string { return "burst" }
func (b burst) Run(ctx context.Context, trigger func()) error {
	time.Sleep(5 * time.Millisecond) // while the first pass runs
	for i := 0; i < b.n; i++ {
		trigger()
	}
	<-ctx.Done()
	return nil
}

func TestLoopCoalescesAndNotifies(t *testing.T) {
	var passes atomic.Int32
	var mu sync.Mutex
	var notes []string
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loop{
		Pass: func(context.Context) ([]string, error) {
			n := passes.Add(1)
			time.Sleep(20 * time.Millisecond) // events of the burst arrive during the pass
			if n == 1 {
				return nil, errors.New("first pass fails")
			}
			return nil, nil
		},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Notify: func(s string) { mu.Lock(); notes = append(notes, s); mu.Unlock() },
		Safety: time.Hour,
	}
	done := make(chan error)
	go func() { done <- l.Run(ctx, burst{n: 100}) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The initial trigger and 100 events make at most a few passes, not 101.
	if n := passes.Load(); n < 2 || n > 3 {
		t.Errorf("%d passes for 101 triggers", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notes) != 2 || notes[0] != "READY=1" || notes[1] != "STOPPING=1" {
		t.Errorf("notifications %v: want READY=1 after the first good pass, then STOPPING=1", notes)
	}
}

func TestLoopPingsTheWatchdog(t *testing.T) {
	var pings atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	l := &Loop{
		Pass: func(context.Context) ([]string, error) { return nil, nil },
		Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Notify: func(s string) {
			if s == "WATCHDOG=1" {
				pings.Add(1)
			}
		},
		Safety:   time.Hour,
		Watchdog: 40 * time.Millisecond,
	}
	l.Run(ctx)
	if pings.Load() < 3 {
		t.Errorf("%d watchdog pings in 200ms at a 40ms watchdog", pings.Load())
	}
}

func TestLoopBacksOffInAFight(t *testing.T) {
	var passes atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	again := make(chan struct{}, 1)
	l := &Loop{
		Pass: func(context.Context) ([]string, error) {
			passes.Add(1)
			// Every repair causes another event, as a fight with another tool does.
			select {
			case again <- struct{}{}:
			default:
			}
			return []string{"repaired"}, nil
		},
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Notify:     func(string) {},
		Safety:     time.Hour,
		MaxRepairs: 5,
	}
	l.Run(ctx, fight{again: again})
	if n := passes.Load(); n > 20 {
		t.Errorf("%d passes in 500ms: no back-off", n)
	}
}

// fight triggers a pass every time the pass asks for one.
type fight struct{ again chan struct{} }

func (fight) Name() string { return "fight" }
func (f fight) Run(ctx context.Context, trigger func()) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.again:
			trigger()
		}
	}
}

// TestHangupTriggersAPass: SIGHUP, once subscribed, runs a pass and does
// not end the process.
func TestHangupTriggersAPass(t *testing.T) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	defer signal.Stop(ch)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	passes := make(chan struct{}, 4)
	go Hangup{C: ch, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}.Run(ctx, func() { passes <- struct{}{} })
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-passes:
	case <-time.After(5 * time.Second):
		t.Fatal("no pass after SIGHUP")
	}
}
