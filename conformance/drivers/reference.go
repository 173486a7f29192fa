package drivers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mqttspec/mqttspec/codec"
	"github.com/mqttspec/mqttspec/conformance"
	"github.com/mqttspec/mqttspec/reference/client"
	"github.com/mqttspec/mqttspec/reference/client/store"
)

// Reference returns the driver of mqttspec's own client (reference/client), run in process. It
// supports every operation and option (see ReferenceWhy for the one exception).
func Reference() *conformance.FuncDriver {
	return ReferenceWith("reference", nil)
}

// ReferenceWith is Reference under another name, with a hook that adjusts the client's options
// before each action (tests inject faults through Options.Dialer this way).
func ReferenceWith(name string, tweak func(a conformance.Action, o *client.Options)) *conformance.FuncDriver {
	return &conformance.FuncDriver{DriverName: name, Explain: ReferenceWhy, Refusal: referenceRefusal,
		Description: "in process: github.com/mqttspec/mqttspec/reference/client",
		Run: func(ctx context.Context, a conformance.Action) error {
			return runReference(ctx, a, tweak)
		}}
}

// ReferenceWhy says why the reference driver cannot perform an action ("" when it can): only MQTT
// 3.1.1 and 5.0, and only the AuthEcho answer to authentication challenges.
func ReferenceWhy(a conformance.Action) string {
	switch {
	case a.Version != codec.V311 && a.Version != codec.V5:
		return "only MQTT 3.1.1 and 5.0"
	case a.AuthMethod != "" && a.AuthAnswer != conformance.AuthEcho:
		return "the driver answers authentication challenges only with AuthEcho, not " + a.AuthAnswer.String()
	}
	return ""
}

// referenceRefusal reads the error of a reference client that never connected: Dial refuses
// options that would break the protocol with client.ErrInvalidOptions; anything else (a dial
// failure, a panic) is not a refusal of the action.
func referenceRefusal(err error) string {
	if errors.Is(err, client.ErrInvalidOptions) {
		return "client.Dial: " + err.Error()
	}
	return ""
}

// RunReference performs the action with the reference client: connect (with the action's
// options), then publish, subscribe or wait, then disconnect normally.
func RunReference(ctx context.Context, a conformance.Action) error { return runReference(ctx, a, nil) }

func runReference(ctx context.Context, a conformance.Action, tweak func(conformance.Action, *client.Options)) error {
	o := referenceOptions(a)
	if tweak != nil {
		tweak(a, &o)
	}
	var got messageCounter
	got.want = a.EffectiveCount()
	got.done = make(chan struct{})
	o.OnMessage = got.handle
	st := &signalStore{Store: store.NewMemory(), put: make(chan struct{}, 1)}
	o.Store = st

	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := client.Dial(dctx, "tcp://"+a.Addr(), o)
	cancel()
	if err != nil {
		return err
	}
	var errs []error
	switch a.Op {
	case conformance.OpConnect:
		select {
		case <-time.After(a.Duration):
		case <-ctx.Done():
		case <-c.Done():
		}
	case conformance.OpPublish:
		errs = append(errs, referencePublish(ctx, c, a, st))
	case conformance.OpSubscribe:
		_, err := c.Subscribe(ctx, []codec.Subscription{{Filter: a.Topic, QoS: a.QoS}}, got.handle)
		if err != nil {
			errs = append(errs, fmt.Errorf("subscribe: %w", err))
			break
		}
		select {
		case <-got.done:
		case <-ctx.Done():
		case <-c.Done():
		}
		if a.Unsubscribe != nil && ctx.Err() == nil && c.Err() == nil {
			if err := c.Unsubscribe(ctx, a.Unsubscribe); err != nil {
				errs = append(errs, fmt.Errorf("unsubscribe: %w", err))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("reference driver: unknown operation %q", a.Op))
	}
	if err := c.Err(); err != nil && !errors.Is(err, client.ErrClosed) {
		errs = append(errs, err) // the client gave up: the connection was lost or refused
		return errors.Join(errs...)
	}
	// Stop (ctx cancelled) still disconnects normally, briefly.
	dctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := c.Disconnect(dctx); err != nil && !errors.Is(err, client.ErrClosed) {
		errs = append(errs, fmt.Errorf("disconnect: %w", err))
	}
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}

func referenceOptions(a conformance.Action) client.Options {
	o := client.Options{
		ClientID: a.ClientID, Version: a.Version, CleanStart: !a.KeepSession, KeepAlive: a.EffectiveKeepAlive(),
		Username: a.Username, Password: a.Password,
		AutoReconnect: a.Reconnect, ReconnectMin: 200 * time.Millisecond, ReconnectMax: time.Second,
		DialTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
	}
	if w := a.Will; w != nil {
		o.Will = &client.Will{Topic: w.Topic, Payload: w.Payload, QoS: w.QoS, Retain: w.Retain}
		if w.Properties != nil && a.Version == codec.V5 {
			o.Will.Properties = *w.Properties
		}
	}
	if a.Version == codec.V5 {
		o.SessionExpiry = a.EffectiveSessionExpiry()
		o.ReceiveMaximum = a.ReceiveMaximum
		o.TopicAliasMaximum = a.TopicAliasMaximum
		o.MaxPacketSize = a.MaximumPacketSize
		if a.AuthMethod != "" { // AuthEcho (ReferenceWhy refuses any other answer)
			o.Auth = &client.Auth{Method: a.AuthMethod, Data: a.AuthData,
				Respond: func(challenge []byte) ([]byte, error) { return challenge, nil }}
		}
	}
	return o
}

// referencePublish publishes Count messages without waiting for one flow to end before the next
// starts, in order: each next Publish begins only once the previous message is queued (stored,
// for QoS 1 and 2), so the client's send window and ordering are what the case observes.
func referencePublish(ctx context.Context, c *client.Client, a conformance.Action, st *signalStore) error {
	var wg sync.WaitGroup
	errs := make([]error, a.EffectiveCount())
	for i := range a.EffectiveCount() {
		m := &client.Message{Topic: a.Topic, Payload: a.Message, QoS: a.QoS, Retain: a.Retain}
		if a.PublishProps != nil && a.Version == codec.V5 {
			m.Properties = *a.PublishProps
		}
		if a.QoS == 0 {
			errs[i] = c.Publish(ctx, m)
			continue
		}
		done := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			errs[i] = c.Publish(ctx, m)
		}()
		select {
		case <-st.put:
		case <-done:
			// It ended (refused before it was stored, or already acknowledged): a signal its
			// Put may have left must not release the next message early.
			select {
			case <-st.put:
			default:
			}
		case <-ctx.Done():
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// signalStore is a memory store that signals each stored PUBLISH.
type signalStore struct {
	store.Store
	put chan struct{}
}

func (s *signalStore) Put(e store.Entry) error {
	err := s.Store.Put(e)
	if e.Dir == store.Outgoing && len(e.Packet) > 0 && codec.PacketType(e.Packet[0]>>4) == codec.PUBLISH {
		select {
		case s.put <- struct{}{}:
		default:
		}
	}
	return err
}

// messageCounter closes done once want messages arrived.
type messageCounter struct {
	mu   sync.Mutex
	n    int
	want int
	done chan struct{}
}

func (m *messageCounter) handle(*client.Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	if m.n == m.want {
		close(m.done)
	}
}
