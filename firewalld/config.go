package firewalld

import (
	"errors"
	"slices"

	"github.com/godbus/dbus/v5"
)

// Zone is the part of a zone's settings we set, typed as firewalld's a{sv}
// settings want them.
type Zone struct {
	Short, Description, Target string
	Services, Interfaces       []string
}

func (z Zone) dict() map[string]dbus.Variant {
	return map[string]dbus.Variant{
		"short": dbus.MakeVariant(z.Short), "description": dbus.MakeVariant(z.Description),
		"target": dbus.MakeVariant(z.Target), "services": dbus.MakeVariant(nonNil(z.Services)),
		"interfaces": dbus.MakeVariant(nonNil(z.Interfaces)),
	}
}

// Port is one entry of a(ss): port (or range) and protocol.
type Port struct{ Port, Protocol string }

// Policy is the part of a policy's settings we set: int32 priority, bool
// masquerade, a(ss) ports, as firewalld types them.
type Policy struct {
	Short, Description, Target string
	IngressZones, EgressZones  []string
	Priority                   int32
	Masquerade                 bool
	Ports                      []Port
}

func (p Policy) dict() map[string]dbus.Variant {
	d := map[string]dbus.Variant{
		"short": dbus.MakeVariant(p.Short), "description": dbus.MakeVariant(p.Description),
		"target": dbus.MakeVariant(p.Target), "priority": dbus.MakeVariant(p.Priority),
		"masquerade":    dbus.MakeVariant(p.Masquerade),
		"ingress_zones": dbus.MakeVariant(nonNil(p.IngressZones)), "egress_zones": dbus.MakeVariant(nonNil(p.EgressZones)),
	}
	if len(p.Ports) > 0 {
		ports := make([][]any, 0, len(p.Ports))
		for _, x := range p.Ports {
			ports = append(ports, []any{x.Port, x.Protocol})
		}
		d["ports"] = dbus.MakeVariant(ports)
	}
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// object is a kind of permanent object (zone, policy) as its methods name it.
type object struct {
	byName, add, get, update, remove string
}

var (
	zoneObject = object{byName: ifaceConfig + ".getZoneByName", add: ifaceConfig + ".addZone2",
		get: ifaceConfigZone + ".getSettings2", update: ifaceConfigZone + ".update2", remove: ifaceConfigZone + ".remove"}
	policyObject = object{byName: ifaceConfig + ".getPolicyByName", add: ifaceConfig + ".addPolicy",
		get: ifaceConfigPolicy + ".getSettings", update: ifaceConfigPolicy + ".update", remove: ifaceConfigPolicy + ".remove"}
)

// path returns the permanent object's path. Paths are /config/zone/N and
// /config/policy/N and change on every reload: they are looked up each time.
func (c *Client) path(o object, name string) (dbus.ObjectPath, error) {
	var p dbus.ObjectPath
	err := c.call(ConfigPath, o.byName, []any{name}, &p)
	return p, err
}

// ensure makes the permanent object name hold want, and reports whether it
// changed anything (created, or settings rewritten).
func (c *Client) ensure(o object, name string, want map[string]dbus.Variant) (bool, error) {
	p, err := c.path(o, name)
	if errors.Is(err, ErrNotFound) {
		return true, c.call(ConfigPath, o.add, []any{name, want}, new(dbus.ObjectPath))
	}
	if err != nil {
		return false, err
	}
	var cur map[string]dbus.Variant
	if err := c.call(p, o.get, nil, &cur); err != nil {
		return false, err
	}
	if same(cur, want) {
		return false, nil
	}
	return true, c.call(p, o.update, []any{want})
}

// remove deletes the permanent object; a missing one is not an error. It
// reports whether it removed anything.
func (c *Client) remove(o object, name string) (bool, error) {
	p, err := c.path(o, name)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, c.call(p, o.remove, nil)
}

// EnsureZone makes the permanent zone name hold z, and reports whether it
// changed anything.
func (c *Client) EnsureZone(name string, z Zone) (bool, error) {
	return c.ensure(zoneObject, name, z.dict())
}

// EnsurePolicy makes the permanent policy name hold p, and reports whether
// it changed anything.
func (c *Client) EnsurePolicy(name string, p Policy) (bool, error) {
	return c.ensure(policyObject, name, p.dict())
}

// RemoveZone deletes the permanent zone; a missing one is not an error.
func (c *Client) RemoveZone(name string) (bool, error) { return c.remove(zoneObject, name) }

// RemovePolicy deletes the permanent policy; a missing one is not an error.
func (c *Client) RemovePolicy(name string) (bool, error) { return c.remove(policyObject, name) }

// ZoneOfInterface returns the runtime zone an interface is bound to ("" for
// none).
func (c *Client) ZoneOfInterface(iface string) (string, error) {
	var z string
	err := c.call(Path, ifaceZone+".getZoneOfInterface", []any{iface}, &z)
	return z, err
}

// Reload makes the permanent configuration the runtime one. firewalld older
// than 2.0 flushes every iptables table on it (see Info).
func (c *Client) Reload() error { return c.call(Path, ifaceMain+".reload", nil) }

// same reports whether every key of want has the same value in cur.
func same(cur, want map[string]dbus.Variant) bool {
	for k, w := range want {
		c, ok := cur[k]
		if !ok {
			if empty(w) {
				continue
			}
			return false
		}
		if !equal(c.Value(), w.Value()) {
			return false
		}
	}
	return true
}

func empty(v dbus.Variant) bool {
	switch x := v.Value().(type) {
	case []string:
		return len(x) == 0
	case string:
		return x == ""
	case bool:
		return !x
	}
	return false
}

func equal(a, b any) bool {
	as, aok := a.([]string)
	bs, bok := b.([]string)
	if aok && bok {
		as, bs = slices.Clone(as), slices.Clone(bs)
		slices.Sort(as)
		slices.Sort(bs)
		return slices.Equal(as, bs)
	}
	return dbus.MakeVariant(a).String() == dbus.MakeVariant(b).String()
}
