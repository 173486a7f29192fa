// Command capclient generates MQTT traffic that mosquitto_pub/sub cannot produce, for the
// captures under pcap/testdata (see make-captures.sh). It talks only to loopback addresses.
//
//	capclient burst    -addr 127.0.0.1:P -n 50        many packets in one TCP segment
//	capclient trickle  -addr 127.0.0.1:P -size 60000  one PUBLISH written in many small segments
//	capclient wsbridge -listen 127.0.0.1:W -to 127.0.0.1:P   WebSocket (subprotocol mqtt) ↔ TCP
//	capclient wsclient -url ws://127.0.0.1:W/mqtt     MQTT 3.1.1 and 5.0 sessions over WebSocket
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/coder/websocket"

	"github.com/mqttspec/mqttspec/codec"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: capclient burst|trickle|wsbridge|wsclient [flags]")
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:1883", "broker address (loopback)")
	n := fs.Int("n", 50, "burst: number of PUBLISH packets")
	size := fs.Int("size", 60000, "trickle: payload size")
	chunk := fs.Int("chunk", 1000, "trickle: bytes per write")
	listen := fs.String("listen", "127.0.0.1:9001", "wsbridge: WebSocket listen address")
	to := fs.String("to", "127.0.0.1:1883", "wsbridge: broker address")
	url := fs.String("url", "ws://127.0.0.1:9001/mqtt", "wsclient: WebSocket URL")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "burst":
		err = burst(*addr, *n)
	case "trickle":
		err = trickle(*addr, *size, *chunk)
	case "wsbridge":
		err = wsbridge(*listen, *to)
	case "wsclient":
		err = wsclient(*url)
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

func enc(v codec.Version, ps ...codec.Packet) []byte {
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = p.AppendTo(b, v); err != nil {
			log.Fatal(err)
		}
	}
	return b
}

// readN reads n packets and checks their types.
func readN(r io.Reader, v codec.Version, want ...codec.PacketType) error {
	rd := codec.NewReader(r, codec.Options{Version: v})
	for i, t := range want {
		p, err := rd.ReadPacket()
		if err != nil {
			return fmt.Errorf("reading packet %d (%v): %w", i, t, err)
		}
		if p.Type() != t {
			return fmt.Errorf("packet %d: got %v, want %v", i, p, t)
		}
	}
	return nil
}

func dial(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return c, c.SetDeadline(time.Now().Add(20 * time.Second))
}

// burst writes CONNECT and n QoS 1 PUBLISH packets in a single write: one TCP segment on
// loopback, so the capture has many MQTT packets in one frame.
func burst(addr string, n int) error {
	c, err := dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	ps := []codec.Packet{&codec.Connect{ClientID: "capclient-burst", CleanStart: true, KeepAlive: 60}}
	want := []codec.PacketType{codec.CONNACK}
	for i := 1; i <= n; i++ {
		ps = append(ps, &codec.Publish{QoS: 1, PacketID: uint16(i), Topic: "burst/t", Payload: []byte(fmt.Sprintf("m%d", i))})
		want = append(want, codec.PUBACK)
	}
	if _, err := c.Write(enc(codec.V311, ps...)); err != nil {
		return err
	}
	if err := readN(c, codec.V311, want...); err != nil {
		return err
	}
	_, err = c.Write(enc(codec.V311, &codec.Disconnect{}))
	return err
}

// trickle sends a v5 QoS 1 PUBLISH of size bytes in chunk-byte writes with a pause between
// them, so that the packet spans many TCP segments.
func trickle(addr string, size, chunk int) error {
	c, err := dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write(enc(codec.V5, &codec.Connect{ClientID: "capclient-trickle", CleanStart: true, KeepAlive: 60})); err != nil {
		return err
	}
	if err := readN(c, codec.V5, codec.CONNACK); err != nil {
		return err
	}
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	pub := &codec.Publish{QoS: 1, PacketID: 7, Topic: "trickle/big", Payload: payload}
	pub.Properties.SetContentType("text/plain")
	b := enc(codec.V5, pub)
	for len(b) > 0 {
		k := min(chunk, len(b))
		if _, err := c.Write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
		time.Sleep(2 * time.Millisecond)
	}
	if err := readN(c, codec.V5, codec.PUBACK); err != nil {
		return err
	}
	_, err = c.Write(enc(codec.V5, &codec.Disconnect{}))
	return err
}

// wsbridge accepts WebSocket connections offering the mqtt subprotocol and relays them to a
// plain TCP broker (the packaged mosquitto is built without WebSocket support).
func wsbridge(listen, to string) error {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"mqtt"}})
		if err != nil {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		wc := websocket.NetConn(ctx, ws, websocket.MessageBinary)
		defer wc.Close()
		bc, err := net.Dial("tcp", to)
		if err != nil {
			return
		}
		defer bc.Close()
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(bc, wc); done <- struct{}{} }()
		go func() { _, _ = io.Copy(wc, bc); done <- struct{}{} }()
		<-done
	})
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Println("wsbridge listening on", l.Addr())
	return http.Serve(l, h)
}

// wsclient runs a 3.1.1 and a 5.0 session over WebSocket. It writes one MQTT packet split across
// two WebSocket messages and several packets in one message, to exercise the de-framing.
func wsclient(url string) error {
	for _, v := range []codec.Version{codec.V311, codec.V5} {
		if err := wsSession(url, v); err != nil {
			return fmt.Errorf("MQTT %v over WebSocket: %w", v, err)
		}
	}
	return nil
}

func wsSession(url string, v codec.Version) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"mqtt"}})
	if err != nil {
		return err
	}
	c := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	defer c.Close()
	write := func(b []byte) error { _, err := c.Write(b); return err }
	id := fmt.Sprintf("capclient-ws-%d", v)
	topic := fmt.Sprintf("ws/%v", v)
	if err := write(enc(v, &codec.Connect{ClientID: id, CleanStart: true, KeepAlive: 30})); err != nil {
		return err
	}
	sub := &codec.Subscribe{PacketID: 1, Subscriptions: []codec.Subscription{{Filter: topic + "/#", QoS: 2}}}
	// One SUBSCRIBE split across two WebSocket messages [MQTT-6.0.0-2].
	sb := enc(v, sub)
	if err := write(sb[:3]); err != nil {
		return err
	}
	if err := write(sb[3:]); err != nil {
		return err
	}
	if err := readN(c, v, codec.CONNACK, codec.SUBACK); err != nil {
		return err
	}
	// QoS 0, 1 and 2 in one WebSocket message.
	if err := write(enc(v,
		&codec.Publish{QoS: 0, Topic: topic + "/q0", Payload: []byte("zero")},
		&codec.Publish{QoS: 1, PacketID: 2, Topic: topic + "/q1", Payload: []byte("one")},
		&codec.Publish{QoS: 2, PacketID: 3, Topic: topic + "/q2", Payload: []byte("two")},
	)); err != nil {
		return err
	}
	// Expected: PUBACK(2), PUBREC(3) then PUBCOMP(3) for our messages; the three copies (QoS 0,
	// 1, 2) and the PUBREL of the QoS 2 copy. The order between the flows is up to the broker,
	// so read until everything has arrived, answering as the QoS rules require.
	rd := codec.NewReader(c, codec.Options{Version: v})
	need := map[codec.PacketType]int{codec.PUBACK: 1, codec.PUBREC: 1, codec.PUBCOMP: 1, codec.PUBLISH: 3, codec.PUBREL: 1}
	left := 7
	for left > 0 {
		p, err := rd.ReadPacket()
		if err != nil {
			return err
		}
		if need[p.Type()] <= 0 {
			return fmt.Errorf("unexpected %v", p)
		}
		need[p.Type()]--
		left--
		switch p := p.(type) {
		case *codec.Pubrec:
			err = write(enc(v, &codec.Pubrel{PacketID: p.PacketID}))
		case *codec.Pubrel:
			err = write(enc(v, &codec.Pubcomp{PacketID: p.PacketID}))
		case *codec.Publish:
			switch p.QoS {
			case 1:
				err = write(enc(v, &codec.Puback{PacketID: p.PacketID}))
			case 2:
				err = write(enc(v, &codec.Pubrec{PacketID: p.PacketID}))
			}
		}
		if err != nil {
			return err
		}
	}
	// A large PUBLISH, spread over many TCP segments and WebSocket messages.
	big := enc(v, &codec.Publish{QoS: 0, Topic: "ws/big", Payload: bytes.Repeat([]byte{'x'}, 100000)})
	for len(big) > 0 {
		k := min(16384, len(big))
		if err := write(big[:k]); err != nil {
			return err
		}
		big = big[k:]
	}
	if err := write(enc(v, &codec.Pingreq{})); err != nil {
		return err
	}
	if err := readN(c, v, codec.PINGRESP); err != nil {
		return err
	}
	return write(enc(v, &codec.Disconnect{}))
}
