package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// runV5 performs the action with paho.golang's autopaho connection manager.
func runV5(ctx context.Context, a *action) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u, err := url.Parse("mqtt://" + net.JoinHostPort(a.host, strconv.Itoa(a.port)))
	if err != nil {
		return err
	}
	received := make(chan struct{}, 1<<16)
	up := make(chan struct{}, 16)
	failed := make(chan error, 1)
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     uint16(a.keepAlive),
		CleanStartOnInitialConnection: a.clean,
		SessionExpiryInterval:         uint32(a.sessionExpiry),
		ReconnectBackoff:              func(int) time.Duration { return 200 * time.Millisecond },
		ConnectTimeout:                5 * time.Second,
		OnConnectionUp: func(_ *autopaho.ConnectionManager, ack *paho.Connack) {
			fmt.Println("connected session_present=" + strconv.FormatBool(ack.SessionPresent))
			up <- struct{}{}
		},
		OnConnectionDown: func() bool {
			fmt.Println("connection lost")
			if !a.reconnect {
				select {
				case failed <- errors.New("connection lost"):
				default:
				}
			}
			return a.reconnect
		},
		OnConnectError: func(err error) {
			fmt.Println("connect error", err)
			if !a.reconnect {
				select {
				case failed <- err:
				default:
				}
			}
		},
		ConnectUsername: a.username,
		ConnectPassword: a.password,
		ClientConfig: paho.ClientConfig{
			ClientID: a.id,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
				fmt.Printf("received %q %q\n", pr.Packet.Topic, pr.Packet.Payload)
				received <- struct{}{}
				return true, nil
			}},
		},
	}
	if a.hasWill {
		cfg.WillMessage = &paho.WillMessage{Topic: a.willTopic, Payload: a.willPayload, QoS: byte(a.willQoS), Retain: a.willRetain}
		cfg.WillProperties = willProps(&a.will)
	}
	if a.authMethod != "" {
		cfg.AuthHandler = &echoAuth{method: a.authMethod}
	}
	cfg.ConnectPacketBuilder = func(cp *paho.Connect, _ *url.URL) (*paho.Connect, error) {
		if cp.Properties == nil {
			cp.Properties = &paho.ConnectProperties{}
		}
		if a.receiveMax > 0 {
			rm := uint16(a.receiveMax)
			cp.Properties.ReceiveMaximum = &rm
		}
		if a.aliasMax > 0 {
			am := uint16(a.aliasMax)
			cp.Properties.TopicAliasMaximum = &am
		}
		if a.maxPacket > 0 {
			mp := uint32(a.maxPacket)
			cp.Properties.MaximumPacketSize = &mp
		}
		if a.authMethod != "" {
			cp.Properties.AuthMethod = a.authMethod
			if a.hasAuthData {
				cp.Properties.AuthData = a.authData
			}
		}
		return cp, nil
	}
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		return err
	}
	select {
	case <-up:
	case err := <-failed:
		cancel()
		<-cm.Done()
		return err
	case <-ctx.Done():
		<-cm.Done()
		return ctx.Err()
	}
	var errs []error
	switch a.op {
	case "connect":
		select {
		case <-time.After(a.duration):
		case err := <-failed:
			errs = append(errs, err)
		case <-ctx.Done():
		}
	case "publish":
		errs = append(errs, publishV5(ctx, cm, a, up, failed))
	case "subscribe":
		_, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: a.topic, QoS: byte(a.qos)}}})
		if err != nil {
			errs = append(errs, fmt.Errorf("subscribe: %w", err))
			break
		}
		n := 0
	wait:
		for n < a.count {
			select {
			case <-received:
				n++
			case err := <-failed:
				errs = append(errs, err)
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		if len(a.unsubscribe) > 0 && n == a.count {
			if _, err := cm.Unsubscribe(ctx, &paho.Unsubscribe{Topics: a.unsubscribe}); err != nil {
				errs = append(errs, fmt.Errorf("unsubscribe: %w", err))
			}
		}
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer dcancel()
	if err := cm.Disconnect(dctx); err != nil {
		errs = append(errs, fmt.Errorf("disconnect: %w", err))
	}
	cancel()
	<-cm.Done()
	return errors.Join(errs...)
}

// publishV5 publishes count messages: QoS 0 one after the other, QoS 1 and 2 each from its own
// goroutine, started 50 ms apart so that they leave in order without waiting for each other's
// acknowledgement. A message caught by a lost connection is left to the session: after the next
// connection the client gets a moment to resend it.
func publishV5(ctx context.Context, cm *autopaho.ConnectionManager, a *action, up chan struct{}, failed chan error) error {
	var wg sync.WaitGroup
	errs := make([]error, a.count)
	for i := range a.count {
		p := &paho.Publish{Topic: a.topic, QoS: byte(a.qos), Retain: a.retain, Payload: a.message, Properties: publishProps(&a.publish)}
		if a.qos == 0 {
			_, errs[i] = cm.Publish(ctx, p)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = cm.Publish(ctx, p)
		}()
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err != nil && a.reconnect && errors.Is(err, paho.ErrNetworkErrorAfterStored) {
		fmt.Println("publish interrupted, waiting for the session to resume:", err)
		select {
		case <-up:
			time.Sleep(1500 * time.Millisecond)
			return nil
		case err := <-failed:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

// echoAuth answers every AUTH challenge with AUTH 0x18 carrying the challenge's data.
type echoAuth struct{ method string }

func (e *echoAuth) Authenticate(in *paho.Auth) *paho.Auth {
	var data []byte
	if in.Properties != nil {
		data = in.Properties.AuthData
	}
	return &paho.Auth{ReasonCode: 0x18, Properties: &paho.AuthProperties{AuthMethod: e.method, AuthData: data}}
}

func (e *echoAuth) Authenticated() {}

// publishProps are the 5.0 PUBLISH properties of the action (nil when none).
func publishProps(a *props) *paho.PublishProperties {
	if !a.hasExpiry && a.contentType == "" && a.responseTopic == "" && a.correlation == nil && len(a.user) == 0 {
		return nil
	}
	p := &paho.PublishProperties{ContentType: a.contentType, ResponseTopic: a.responseTopic, CorrelationData: a.correlation}
	if a.hasExpiry {
		e := a.messageExpiry
		p.MessageExpiry = &e
	}
	for _, u := range a.user {
		p.User = append(p.User, paho.UserProperty{Key: u[0], Value: u[1]})
	}
	return p
}

// willProps are the 5.0 Will Properties of the action (empty when none: autopaho would otherwise
// add a Will Delay Interval of its own).
func willProps(a *props) *paho.WillProperties {
	p := &paho.WillProperties{ContentType: a.contentType, ResponseTopic: a.responseTopic, CorrelationData: a.correlation}
	if a.hasWillDelay {
		d := a.willDelay
		p.WillDelayInterval = &d
	}
	if a.hasExpiry {
		e := a.messageExpiry
		p.MessageExpiry = &e
	}
	for _, u := range a.user {
		p.User = append(p.User, paho.UserProperty{Key: u[0], Value: u[1]})
	}
	return p
}
