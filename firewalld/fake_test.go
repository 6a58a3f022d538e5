package firewalld

import (
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

// fakeBus is firewalld's D-Bus API as far as we use it, with its state in
// maps; it records every call as "path method".
type fakeBus struct {
	version  string
	zones    map[string]map[string]dbus.Variant
	policies map[string]map[string]dbus.Variant
	// gen renumbers object paths on every reload, as firewalld does.
	gen     int
	calls   []string
	reloads int
	down    bool
}

func newFakeBus(version string) *fakeBus {
	return &fakeBus{version: version, zones: map[string]map[string]dbus.Variant{"public": {}},
		policies: map[string]map[string]dbus.Variant{}}
}

func (b *fakeBus) Object(dest string, path dbus.ObjectPath) dbus.BusObject {
	return &fakeObject{bus: b, path: path}
}

type fakeObject struct {
	dbus.BusObject // the methods we do not use: calling one panics
	bus            *fakeBus
	path           dbus.ObjectPath
}

func exception(code, msg string) *dbus.Call {
	return &dbus.Call{Err: dbus.Error{Name: exceptionName, Body: []any{code + ": " + msg}}}
}

func (b *fakeBus) path(kind, name string) dbus.ObjectPath {
	return dbus.ObjectPath(fmt.Sprintf("%s/%s/%s-%d", ConfigPath, kind, name, b.gen))
}

// named finds the object a path names, if it is of this generation.
func (b *fakeBus) named(p dbus.ObjectPath) (kind, name string, ok bool) {
	rest, found := strings.CutPrefix(string(p), string(ConfigPath)+"/")
	if !found {
		return "", "", false
	}
	kind, rest, _ = strings.Cut(rest, "/")
	i := strings.LastIndex(rest, "-")
	if i < 0 || rest[i+1:] != fmt.Sprint(b.gen) {
		return "", "", false // a stale path from before a reload
	}
	return kind, rest[:i], true
}

func (o *fakeObject) Call(method string, _ dbus.Flags, args ...any) *dbus.Call {
	b := o.bus
	b.calls = append(b.calls, string(o.path)+" "+method)
	if b.down {
		return &dbus.Call{Err: dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"no firewalld"}}}
	}
	m := method[strings.LastIndex(method, ".")+1:]
	store := func(kind string) map[string]map[string]dbus.Variant {
		if kind == "zone" {
			return b.zones
		}
		return b.policies
	}
	switch m {
	case "getZoneByName", "getPolicyByName":
		kind, code := "zone", "INVALID_ZONE"
		if m == "getPolicyByName" {
			kind, code = "policy", "INVALID_POLICY"
		}
		name := args[0].(string)
		if _, ok := store(kind)[name]; !ok {
			return exception(code, name)
		}
		return &dbus.Call{Body: []any{b.path(kind, name)}}
	case "addZone2", "addPolicy":
		kind := "zone"
		if m == "addPolicy" {
			kind = "policy"
		}
		name := args[0].(string)
		if _, ok := store(kind)[name]; ok {
			return exception("NAME_CONFLICT", name)
		}
		store(kind)[name] = args[1].(map[string]dbus.Variant)
		return &dbus.Call{Body: []any{b.path(kind, name)}}
	case "getSettings2", "getSettings", "update2", "update", "remove":
		kind, name, ok := b.named(o.path)
		if !ok {
			return exception("INVALID_OBJECT", string(o.path))
		}
		switch m {
		case "getSettings2", "getSettings":
			return &dbus.Call{Body: []any{store(kind)[name]}}
		case "remove":
			delete(store(kind), name)
		default:
			store(kind)[name] = args[0].(map[string]dbus.Variant)
		}
		return &dbus.Call{}
	case "reload":
		b.reloads++
		b.gen++
		return &dbus.Call{}
	case "getZoneOfInterface":
		return &dbus.Call{Body: []any{""}}
	}
	return &dbus.Call{Err: fmt.Errorf("fake firewalld: no method %s", method)}
}

func (o *fakeObject) GetProperty(p string) (dbus.Variant, error) {
	b := o.bus
	b.calls = append(b.calls, string(o.path)+" property "+p)
	if b.down {
		return dbus.Variant{}, dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"no firewalld"}}
	}
	switch p[strings.LastIndex(p, ".")+1:] {
	case "version":
		return dbus.MakeVariant(b.version), nil
	case "state":
		return dbus.MakeVariant("RUNNING"), nil
	case "FirewallBackend":
		return dbus.MakeVariant("nftables"), nil
	case "FlushAllOnReload":
		return dbus.MakeVariant(true), nil
	}
	return dbus.Variant{}, fmt.Errorf("fake firewalld: no property %s", p)
}
