// Package watch keeps the live state equal to the desired state: event
// sources (nftables ruleset changes, link changes, file changes, a slow safety
// tick) feed one coalescing trigger, and every trigger runs one
// verify-and-repair pass, which does nothing when nothing drifted.
package watch

import (
	"context"
	"log/slog"
	"time"
)

// Pass is one verify-and-repair pass; it returns what it repaired.
type Pass func(ctx context.Context) ([]string, error)

// Source reports events by calling trigger until ctx ends. It returns an
// error only when it cannot run at all.
type Source interface {
	Name() string
	Run(ctx context.Context, trigger func()) error
}

// Loop runs passes on triggers.
type Loop struct {
	Pass Pass
	Log  *slog.Logger
	// Notify sends a systemd notification ("READY=1", "WATCHDOG=1", ...).
	Notify func(state string)
	// Safety is the interval of the safety pass, for hosts whose firewall
	// changes send no event (iptables-legacy).
	Safety time.Duration
	// Watchdog is systemd's watchdog interval (0: none); the loop pings at
	// half of it, from the goroutine that runs passes, so a stuck pass stops
	// the pings.
	Watchdog time.Duration
	// MaxRepairs bounds the repairs in one second before the loop backs off
	// for a second, so that a fight with another tool cannot spin a core.
	MaxRepairs int
}

// Run starts the sources and runs passes until ctx ends. The first pass runs
// at once; READY=1 follows the first pass that succeeds.
func (l *Loop) Run(ctx context.Context, sources ...Source) error {
	trig := make(chan struct{}, 1)
	trigger := func() {
		select {
		case trig <- struct{}{}:
		default: // a pass is already pending: this event is coalesced into it
		}
	}
	for _, s := range sources {
		go func(s Source) {
			if err := s.Run(ctx, trigger); err != nil && ctx.Err() == nil {
				l.Log.Warn("event source failed; the safety pass still runs", "source", s.Name(), "err", err)
			}
		}(s)
	}
	safety := time.NewTicker(l.Safety)
	defer safety.Stop()
	var ping <-chan time.Time
	if l.Watchdog > 0 {
		t := time.NewTicker(l.Watchdog / 2)
		defer t.Stop()
		ping = t.C
	}
	ready := false
	var recent []time.Time
	trigger()
	for {
		select {
		case <-ctx.Done():
			l.Notify("STOPPING=1")
			return nil
		case <-ping:
			l.Notify("WATCHDOG=1")
			continue
		case <-safety.C:
		case <-trig:
		}
		start := time.Now()
		repaired, err := l.Pass(ctx)
		if err != nil {
			l.Log.Error("pass failed", "err", err)
			continue
		}
		if !ready {
			ready = true
			l.Notify("READY=1")
			l.Log.Info("ready: live state verified", "took", time.Since(start))
		}
		if len(repaired) == 0 {
			continue
		}
		l.Log.Info("repaired drift", "took", time.Since(start), "repaired", repaired)
		recent = append(recent, start)
		for len(recent) > 0 && start.Sub(recent[0]) > time.Second {
			recent = recent[1:]
		}
		if l.MaxRepairs > 0 && len(recent) > l.MaxRepairs {
			l.Log.Warn("another tool keeps changing the rules back; backing off for a second", "repairs", len(recent))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			recent = nil
		}
	}
}
