package docker

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The client speaks HTTP over a unix socket, as to dockerd, and a
// network's bridge is its bridge.name option, else br-<12 of its ID>.
func TestClientReadsBridgesOverTheSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/networks" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`[{"Name":"bridge","Id":"5b3e","Driver":"bridge","Options":{"com.docker.network.bridge.name":"docker0"}},
{"Name":"mailnet","Id":"aaaa","Driver":"bridge","Options":{"com.docker.network.bridge.name":"mailnet"}},
{"Name":"appnet","Id":"0123456789abcdef0123","Driver":"bridge","Options":{}},
{"Name":"host","Id":"ffff","Driver":"host","Options":{}}]`))
	})}
	go srv.Serve(l)
	defer srv.Close()
	got, err := Bridges(context.Background(), Client{Socket: sock})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"br-0123456789ab", "docker0", "mailnet"}; !slices.Equal(got, want) {
		t.Errorf("bridges %v, want %v", got, want)
	}
}

// No socket is ErrNotRunning; a daemon that does not answer is an error
// once the timeout passes, not a hang.
func TestClientFailsFast(t *testing.T) {
	dir := t.TempDir()
	if _, err := (Client{Socket: filepath.Join(dir, "none.sock")}).Networks(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("no socket: %v", err)
	}
	sock := filepath.Join(dir, "hung.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close() // accepts nothing: a stopped dockerd
	if _, err := (Client{Socket: sock, Timeout: 200 * time.Millisecond}).Networks(context.Background()); err == nil {
		t.Error("a hung dockerd answered")
	}
}

func TestFake(t *testing.T) {
	got, err := Bridges(context.Background(), Fake{Nets: []Network{{Name: "n", ID: "abcdefabcdefabcd", Driver: "bridge"}}})
	if err != nil || !slices.Equal(got, []string{"br-abcdefabcdef"}) {
		t.Errorf("%v %v", got, err)
	}
}

// Each request's connection is closed after it: a watcher that asks on
// every pass must not keep one open per pass.
func TestClientLeavesNoConnectionOpen(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	open := 0
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`[]`)) }),
		ConnState: func(_ net.Conn, s http.ConnState) {
			mu.Lock()
			defer mu.Unlock()
			switch s {
			case http.StateNew:
				open++
			case http.StateClosed, http.StateHijacked:
				open--
			}
		},
	}
	go srv.Serve(l)
	defer srv.Close()
	for i := 0; i < 20; i++ {
		if _, err := (Client{Socket: sock}).Networks(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; ; i++ {
		mu.Lock()
		n := open
		mu.Unlock()
		if n == 0 {
			break
		}
		if i == 100 {
			t.Fatalf("%d connections still open after 20 requests", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Containers reads names, compose labels and ports; Events calls back once
// per event of the stream, asks for container events only, and ends with
// the stream.
func TestClientContainersAndEvents(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/containers/json":
			w.Write([]byte(`[{"Id":"abc","Names":["/shop-api-1"],"Labels":{"com.docker.compose.project":"shop","com.docker.compose.service":"api"},
"Ports":[{"IP":"0.0.0.0","PrivatePort":443,"PublicPort":8443,"Type":"tcp"},{"PrivatePort":9000,"Type":"tcp"}],
"NetworkSettings":{"Networks":{"shop_default":{"IPAddress":"172.18.0.2"}}}}]`))
		case "/events":
			if !strings.Contains(r.URL.Query().Get("filters"), `"container"`) {
				http.Error(w, "want container events", http.StatusBadRequest)
				return
			}
			w.Write([]byte(`{"Type":"container","Action":"start"}` + "\n" + `{"Type":"container","Action":"die"}` + "\n"))
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(l)
	defer srv.Close()
	c := Client{Socket: sock}
	cs, err := c.Containers(context.Background())
	if err != nil || len(cs) != 1 || cs[0].Name() != "shop-api-1" || cs[0].Service() != "shop/api" ||
		cs[0].Ports[0].PublicPort != 8443 || strings.Join(cs[0].Networks(), ",") != "shop_default" {
		t.Fatalf("containers %+v, %v", cs, err)
	}
	n := 0
	if err := c.Events(context.Background(), func() { n++ }); err == nil || n != 2 {
		t.Errorf("events: %d, then %v", n, err)
	}
}
