// Package firewalld talks to firewalld over D-Bus (godbus): what it runs
// (version, state, backend, whether a reload flushes iptables), and the
// zone and policy of ours that keep guest bridges working. Published-port
// control does not live here: firewalld's zones never see DNAT'd traffic,
// so it stays in DOCKER-USER (the ufw package) and the guard.
package firewalld

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/godbus/dbus/v5"
)

// Names of firewalld on the system bus.
const (
	Dest       = "org.fedoraproject.FirewallD1"
	Path       = dbus.ObjectPath("/org/fedoraproject/FirewallD1")
	ConfigPath = dbus.ObjectPath("/org/fedoraproject/FirewallD1/config")

	// Interface is firewalld's main interface, where Reloaded is signalled.
	Interface         = Dest
	ifaceMain         = Interface
	ifaceZone         = Dest + ".zone"
	ifaceConfig       = Dest + ".config"
	ifaceConfigZone   = Dest + ".config.zone"
	ifaceConfigPolicy = Dest + ".config.policy"
	exceptionName     = Dest + ".Exception"
)

// Bus opens objects on the bus; a *dbus.Conn is one, a test fakes it.
type Bus interface {
	Object(dest string, path dbus.ObjectPath) dbus.BusObject
}

// Client calls firewalld's methods and counts the calls.
type Client struct {
	Bus   Bus
	calls atomic.Int64
}

// Calls returns how many D-Bus calls the client made.
func (c *Client) Calls() int64 { return c.calls.Load() }

// call calls iface.method on the object at path and stores the replies.
func (c *Client) call(path dbus.ObjectPath, method string, args []any, out ...any) error {
	c.calls.Add(1)
	call := c.Bus.Object(Dest, path).Call(method, 0, args...)
	if call.Err != nil {
		return classify(method, call.Err)
	}
	if len(out) == 0 {
		return nil
	}
	if err := call.Store(out...); err != nil {
		return fmt.Errorf("firewalld %s: reading the reply: %w", method, err)
	}
	return nil
}

// property reads one property of the object at path.
func (c *Client) property(path dbus.ObjectPath, name string) (dbus.Variant, error) {
	c.calls.Add(1)
	v, err := c.Bus.Object(Dest, path).GetProperty(name)
	if err != nil {
		return v, classify("property "+name, err)
	}
	return v, nil
}

// Errors firewalld reports, by what they mean to us.
var (
	// ErrExists: the zone, policy or binding is there already.
	ErrExists = errors.New("already exists")
	// ErrNotFound: no such zone, policy or binding.
	ErrNotFound = errors.New("not found")
	// ErrNotRunning: firewalld is not on the bus. It says Unreachable, so
	// that a pass can tell a firewall it cannot reach from one that failed.
	ErrNotRunning error = notRunning{}
)

type notRunning struct{}

func (notRunning) Error() string { return "firewalld is not running" }

// Unreachable says the firewall could not be reached.
func (notRunning) Unreachable() bool { return true }

// Error is a firewalld exception: its code (NAME_CONFLICT, INVALID_ZONE,
// ...) and message.
type Error struct {
	Method, Code, Message string
}

// Error says which call failed, with firewalld's code and message.
func (e *Error) Error() string {
	return fmt.Sprintf("firewalld %s: %s: %s", e.Method, e.Code, e.Message)
}

// Is classifies the codes: conflicts are ErrExists, unknown names ErrNotFound.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrExists:
		return e.Code == "NAME_CONFLICT" || e.Code == "ALREADY_ENABLED" || e.Code == "ZONE_ALREADY_SET"
	case ErrNotFound:
		return e.Code == "INVALID_ZONE" || e.Code == "INVALID_POLICY" || e.Code == "NOT_ENABLED" || e.Code == "UNKNOWN_INTERFACE"
	}
	return false
}

// classify turns a D-Bus error into an *Error (firewalld's exceptions
// carry "CODE: message") or ErrNotRunning.
func classify(method string, err error) error {
	var de dbus.Error
	if errors.As(err, &de) {
		msg := ""
		if len(de.Body) > 0 {
			msg, _ = de.Body[0].(string)
		}
		switch de.Name {
		case exceptionName:
			code, rest, _ := strings.Cut(msg, ":")
			return &Error{Method: method, Code: strings.TrimSpace(code), Message: strings.TrimSpace(rest)}
		case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
			return fmt.Errorf("firewalld %s: %w", method, ErrNotRunning)
		}
		return fmt.Errorf("firewalld %s: %s: %s", method, de.Name, msg)
	}
	return fmt.Errorf("firewalld %s: %w", method, err)
}

// Running reports whether firewalld holds its name on the bus.
func Running(bus Bus) bool {
	var has bool
	err := bus.Object("org.freedesktop.DBus", "/org/freedesktop/DBus").Call("org.freedesktop.DBus.NameHasOwner", 0, Dest).Store(&has)
	return err == nil && has
}
