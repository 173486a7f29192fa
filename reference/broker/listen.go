package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
)

// WebSocketSubprotocol is the subprotocol MQTT over WebSocket negotiates (MQTT-6.0.0-3/4).
const WebSocketSubprotocol = "mqtt"

// parseListenURL splits a listen URL into its transport, host:port and (for WebSocket) path.
func parseListenURL(rawURL string) (scheme, host, path string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", "", fmt.Errorf("listen address %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt":
		scheme = "tcp"
	case "tls", "mqtts", "ssl":
		scheme = "tls"
	case "ws", "wss":
		scheme = u.Scheme
	default:
		return "", "", "", fmt.Errorf("listen address %q: scheme must be tcp, tls, ws or wss", rawURL)
	}
	if u.Host == "" {
		return "", "", "", fmt.Errorf("listen address %q: no host:port", rawURL)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return "", "", "", fmt.Errorf("listen address %q: %w", rawURL, err)
	}
	if (scheme == "tcp" || scheme == "tls") && u.Path != "" && u.Path != "/" {
		return "", "", "", fmt.Errorf("listen address %q: a %s listener has no path", rawURL, scheme)
	}
	path = u.Path
	if path == "" {
		path = "/"
	}
	return scheme, u.Host, path, nil
}

func (s *Server) tlsConfig() (*tls.Config, error) {
	if s.opts.TLS != nil {
		return s.opts.TLS, nil
	}
	if s.opts.TLSCertFile == "" || s.opts.TLSKeyFile == "" {
		return nil, errors.New("a TLS listener needs Options.TLS or TLSCertFile and TLSKeyFile")
	}
	cert, err := tls.LoadX509KeyPair(s.opts.TLSCertFile, s.opts.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

func (s *Server) listen(ctx context.Context, rawURL string) (net.Addr, error) {
	scheme, host, path, err := parseListenURL(rawURL)
	if err != nil {
		return nil, err
	}
	var tcfg *tls.Config
	if scheme == "tls" || scheme == "wss" {
		if tcfg, err = s.tlsConfig(); err != nil {
			return nil, err
		}
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", rawURL, err)
	}
	addr := l.Addr()
	if tcfg != nil {
		l = tls.NewListener(l, tcfg)
	}
	stop := func() {}
	if ctx.Done() != nil {
		// The listener lives until ctx ends; the goroutine ends with it or with the server.
		done := make(chan struct{})
		stop = func() { close(done) }
		if !s.goTracked(func() {
			select {
			case <-ctx.Done():
				l.Close()
			case <-done:
			}
		}) {
			l.Close()
			return nil, ErrServerClosed
		}
	}
	switch scheme {
	case "tcp", "tls":
		if !s.goTracked(func() {
			defer stop()
			if err := s.Serve(l); err != nil && !errors.Is(err, ErrServerClosed) && ctx.Err() == nil {
				s.log.Error("listener stopped", "url", rawURL, "err", err)
			}
		}) {
			stop()
			l.Close()
			return nil, ErrServerClosed
		}
	default:
		hs := &http.Server{Handler: s.WebSocketHandler(path), ReadHeaderTimeout: s.cfg.connectTimeout, ErrorLog: nil}
		if !s.addListener(hs) {
			stop()
			l.Close()
			return nil, ErrServerClosed
		}
		if !s.goTracked(func() {
			defer stop()
			defer s.removeListener(hs)
			if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) && ctx.Err() == nil && !s.isClosed() {
				s.log.Error("WebSocket listener stopped", "url", rawURL, "err", err)
			}
		}) {
			stop()
			l.Close()
			return nil, ErrServerClosed
		}
	}
	s.log.Info("listening", "url", rawURL, "addr", addr.String())
	return addr, nil
}

// WebSocketHandler returns an http.Handler serving MQTT over WebSocket at path (section 6): the
// mqtt subprotocol is required and packets travel in binary frames, split across and combined
// within frames as the stream dictates. Text frames close the connection (MQTT-6.0.0-1).
func (s *Server) WebSocketHandler(path string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if path != "/" && path != "" && r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		if !strings.Contains(strings.ToLower(r.Header.Get("Sec-WebSocket-Protocol")), WebSocketSubprotocol) {
			http.Error(w, "MQTT over WebSocket needs the mqtt subprotocol", http.StatusBadRequest)
			return
		}
		ws, err := websocket.Accept(s.rules.wsWriter(w), r, &websocket.AcceptOptions{
			Subprotocols:       []string{WebSocketSubprotocol},
			InsecureSkipVerify: true, // no origin check: a test broker serves pages from anywhere
		})
		if err != nil {
			s.log.Debug("WebSocket handshake failed", "err", err)
			return
		}
		if ws.Subprotocol() != WebSocketSubprotocol {
			ws.Close(websocket.StatusPolicyViolation, "the mqtt subprotocol is required")
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.ServeConn(s.rules.webSocket(ctx, ws))
	})
}
