// Command udpecho is the lab's UDP server: it answers every datagram with its
// own content. busybox has no UDP server, so the lab image carries this one.
package main

import (
	"log"
	"net"
	"os"
)

func main() {
	addr := ":5005"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 2048)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			log.Fatal(err)
		}
		conn.WriteTo(buf[:n], peer)
	}
}
