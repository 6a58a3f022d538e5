package cli

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufw-docker-bridge/ufw-docker-bridge/internal/metrics"
)

// Many scrapes at once cost one live reading: the others get the last
// reading, and a scrape within scrapeGap of a reading reads nothing.
func TestScrapesReadOnceAtATime(t *testing.T) {
	var reads atomic.Int32
	release := make(chan struct{})
	s := &scrapes{rec: &metrics.Recorder{}, read: func(context.Context) {
		reads.Add(1)
		<-release
	}}
	var wg sync.WaitGroup
	first := make(chan struct{})
	go func() {
		defer close(first)
		s.ServeHTTP(discard{}, &http.Request{})
	}()
	for reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); s.ServeHTTP(discard{}, &http.Request{}) }()
	}
	wg.Wait() // none of them waited for the reading under way
	close(release)
	<-first
	s.ServeHTTP(discard{}, &http.Request{})
	if n := reads.Load(); n != 1 {
		t.Errorf("22 scrapes read the live state %d times, want 1", n)
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// The listener serves at most n connections at once: the next waits until
// one is closed.
func TestLimitListener(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := limitListener(raw, 2)
	defer l.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, second := <-accepted, <-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two were open")
	case <-time.After(200 * time.Millisecond):
	}
	first.Close()
	first.Close() // its slot is given back once
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(2 * time.Second):
		t.Fatal("the third connection was not accepted after one closed")
	}
	second.Close()
}
