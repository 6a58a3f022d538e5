package watch

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/firewalld"
)

// FirewallD fires when firewalld reloads (Reloaded: it has just flushed every
// iptables table) and when it starts, stops or restarts (NameOwnerChanged for
// its bus name: a restart sends no Reloaded).
type FirewallD struct {
	// Address is the bus address; empty means the system bus.
	Address string
	// Log, when set, hears why a connection failed or ended.
	Log *slog.Logger
}

// Name is "firewalld".
func (FirewallD) Name() string { return "firewalld" }

// Retry is how long Run waits before connecting again when the bus is not
// there (yet) or went away. It can be long: firewalld's first flush shows up
// as nftables events anyway, which trigger a pass of their own.
const Retry = 30 * time.Second

// Run subscribes to the signals until ctx ends, connecting again when the
// bus is missing or goes away; each time it (re)connects it triggers a pass,
// since firewalld may have changed things while nobody listened.
func (f FirewallD) Run(ctx context.Context, trigger func()) error {
	for {
		err := f.listen(ctx, trigger)
		if ctx.Err() != nil {
			return nil
		}
		// No bus means no firewalld either: wait for one, quietly.
		if f.Log != nil {
			f.Log.Debug("firewalld signals unavailable, retrying", "err", err, "retry", Retry)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(Retry):
		}
	}
}

func (f FirewallD) listen(ctx context.Context, trigger func()) error {
	var conn *dbus.Conn
	var err error
	if f.Address == "" {
		conn, err = dbus.ConnectSystemBus(dbus.WithContext(ctx))
	} else {
		conn, err = dbus.Connect(f.Address, dbus.WithContext(ctx))
	}
	if err != nil {
		return fmt.Errorf("connecting to the bus: %w", err)
	}
	defer conn.Close()
	if err := conn.AddMatchSignal(dbus.WithMatchInterface(firewalld.Interface), dbus.WithMatchMember("Reloaded")); err != nil {
		return fmt.Errorf("subscribing to firewalld reloads: %w", err)
	}
	if err := conn.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"),
		dbus.WithMatchArg(0, firewalld.Dest)); err != nil {
		return fmt.Errorf("subscribing to firewalld restarts: %w", err)
	}
	signals := make(chan *dbus.Signal, 16)
	conn.Signal(signals)
	trigger()
	for {
		select {
		case <-ctx.Done():
			return nil
		case s, ok := <-signals:
			if !ok {
				return fmt.Errorf("the bus connection closed")
			}
			if s != nil {
				trigger()
			}
		}
	}
}
