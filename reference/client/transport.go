package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
)

var defaultPorts = map[string]string{"tcp": "1883", "tls": "8883", "ws": "80", "wss": "443"}

// schemes maps accepted URL schemes to the transport they use.
var schemes = map[string]string{"tcp": "tcp", "mqtt": "tcp", "tls": "tls", "ssl": "tls", "mqtts": "tls", "ws": "ws", "wss": "wss"}

// ParseURL checks a server URL: tcp:// (also mqtt://), tls:// (ssl://, mqtts://), ws:// or wss://,
// a host, and an optional port (default 1883, 8883, 80, 443). A WebSocket URL without a path gets
// /mqtt. User information in the URL is returned with it; Dial uses it when Options carry no
// credentials.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("client: bad server URL %q: %w", s, err)
	}
	tr, ok := schemes[strings.ToLower(u.Scheme)]
	if !ok {
		return nil, fmt.Errorf("client: unsupported scheme %q in %q (want tcp://, tls://, ws:// or wss://)", u.Scheme, s)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("client: no host in server URL %q", s)
	}
	out := *u
	out.Scheme = tr
	if u.Port() == "" {
		out.Host = net.JoinHostPort(u.Hostname(), defaultPorts[tr])
	}
	if (tr == "ws" || tr == "wss") && (out.Path == "" || out.Path == "/") && out.RawQuery == "" {
		out.Path = "/mqtt"
	}
	if tr == "tcp" || tr == "tls" {
		out.Path, out.RawPath = "", ""
	}
	return &out, nil
}

// dialTransport opens the byte stream to the server.
func dialTransport(ctx context.Context, u *url.URL, tlsConf *tls.Config) (net.Conn, error) {
	var d net.Dialer
	switch u.Scheme {
	case "tcp":
		return d.DialContext(ctx, "tcp", u.Host)
	case "tls":
		td := tls.Dialer{NetDialer: &d, Config: tlsFor(u, tlsConf)}
		return td.DialContext(ctx, "tcp", u.Host)
	case "ws", "wss":
		return dialWebSocket(ctx, u, tlsConf)
	}
	return nil, fmt.Errorf("client: unsupported transport %q", u.Scheme)
}

func tlsFor(u *url.URL, conf *tls.Config) *tls.Config {
	var c *tls.Config
	if conf != nil {
		c = conf.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" && !c.InsecureSkipVerify {
		c.ServerName = u.Hostname()
	}
	return c
}

// dialWebSocket opens a WebSocket offering the "mqtt" subprotocol (MQTT-6.0.0-3) and carries MQTT
// in binary messages (MQTT-6.0.0-1); the net.Conn view lets packets span message boundaries
// (MQTT-6.0.0-2).
func dialWebSocket(ctx context.Context, u *url.URL, tlsConf *tls.Config) (net.Conn, error) {
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsFor(u, tlsConf), ForceAttemptHTTP2: false}
	defer tr.CloseIdleConnections()
	target := *u
	target.User = nil
	ws, resp, err := websocket.Dial(ctx, target.String(), &websocket.DialOptions{
		HTTPClient:      &http.Client{Transport: tr},
		Subprotocols:    []string{"mqtt"},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket handshake with %s: HTTP %s: %w", target.String(), resp.Status, err)
		}
		return nil, err
	}
	if ws.Subprotocol() != "mqtt" {
		ws.Close(websocket.StatusProtocolError, "mqtt subprotocol required")
		return nil, fmt.Errorf("websocket server %s did not select the mqtt subprotocol (got %q)", target.String(), ws.Subprotocol())
	}
	// NetConn disables the message size limit: the MQTT reader enforces the packet size limit.
	return websocket.NetConn(context.Background(), ws, websocket.MessageBinary), nil
}
