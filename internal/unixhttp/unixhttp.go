// Package unixhttp sends one HTTP GET over a unix socket: the Docker Engine
// API and the LXD/Incus API are asked that way.
package unixhttp

import (
	"context"
	"net"
	"net/http"
)

// Get sends GET path to the daemon behind socket, on one connection closed
// after the answer: the watcher asks on every pass, and a transport per call
// keeping its idle connection would leak a descriptor and two goroutines
// each time. The caller closes the answer's body.
func Get(ctx context.Context, socket, path string) (*http.Response, error) {
	hc := http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://localhost"+path, nil)
	if err != nil {
		return nil, err
	}
	return hc.Do(req)
}
