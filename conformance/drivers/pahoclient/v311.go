package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// runV311 performs the action with paho.mqtt.golang (paho.golang speaks only MQTT 5.0).
func runV311(ctx context.Context, a *action) error {
	received := make(chan struct{}, 1<<16)
	lost := make(chan error, 1)
	up := make(chan struct{}, 16)
	var connects, losses atomic.Int32
	o := mqtt.NewClientOptions().
		AddBroker("tcp://" + net.JoinHostPort(a.host, strconv.Itoa(a.port))).
		SetClientID(a.id).
		SetProtocolVersion(4).
		SetCleanSession(a.clean).
		SetKeepAlive(time.Duration(a.keepAlive) * time.Second).
		SetAutoReconnect(a.reconnect).
		SetMaxReconnectInterval(time.Second).
		SetConnectTimeout(5 * time.Second).
		SetOrderMatters(true).
		SetOnConnectHandler(func(mqtt.Client) {
			fmt.Println("connected")
			connects.Add(1)
			select {
			case up <- struct{}{}:
			default:
			}
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			fmt.Println("connection lost:", err)
			losses.Add(1)
			if !a.reconnect {
				select {
				case lost <- err:
				default:
				}
			}
		}).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			fmt.Printf("received %q %q\n", m.Topic(), m.Payload())
			received <- struct{}{}
		})
	if a.username != "" {
		o.SetUsername(a.username)
	}
	if a.hasPassword {
		o.SetPassword(string(a.password))
	}
	if a.hasWill {
		o.SetBinaryWill(a.willTopic, a.willPayload, byte(a.willQoS), a.willRetain)
	}
	c := mqtt.NewClient(o)
	if err := wait(ctx, c.Connect()); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	var errs []error
	switch a.op {
	case "connect":
		select {
		case <-time.After(a.duration):
		case err := <-lost:
			errs = append(errs, err)
		case <-ctx.Done():
		}
	case "publish":
		toks := make([]mqtt.Token, a.count)
		for i := range a.count {
			toks[i] = c.Publish(a.topic, byte(a.qos), a.retain, a.message)
		}
		interrupted := false
		for _, t := range toks {
			err := wait(ctx, t)
			if err != nil && a.reconnect && ctx.Err() == nil {
				// paho.mqtt.golang fails the tokens of a lost connection but keeps the
				// messages in its store and resends them once reconnected: give it that.
				fmt.Println("publish interrupted:", err)
				interrupted = true
				continue
			}
			errs = append(errs, err)
		}
		if interrupted {
			for connects.Load() < 2 && ctx.Err() == nil {
				select {
				case <-up:
				case <-ctx.Done():
				}
			}
		}
		// Connection-lost notices are asynchronous: let a loss that completed tokens show.
		time.Sleep(300 * time.Millisecond)
		if losses.Load() > 0 && a.reconnect {
			for connects.Load() < 2 && ctx.Err() == nil {
				select {
				case <-up:
				case <-ctx.Done():
				}
			}
		}
		if connects.Load() > 1 {
			// After a reconnection paho.mqtt.golang completes the tokens of the messages it
			// resends when it resends them, not when they are acknowledged: give the flows a
			// moment before disconnecting, as an application would have to.
			fmt.Println("reconnected during the publish: letting the resent flows finish")
			time.Sleep(1500 * time.Millisecond)
		}
	case "subscribe":
		if err := wait(ctx, c.Subscribe(a.topic, byte(a.qos), nil)); err != nil {
			errs = append(errs, fmt.Errorf("subscribe: %w", err))
			break
		}
		n := 0
	loop:
		for n < a.count {
			select {
			case <-received:
				n++
			case err := <-lost:
				errs = append(errs, err)
				break loop
			case <-ctx.Done():
				break loop
			}
		}
		if len(a.unsubscribe) > 0 && n == a.count {
			errs = append(errs, wait(ctx, c.Unsubscribe(a.unsubscribe...)))
		}
	}
	c.Disconnect(250)
	return errors.Join(errs...)
}

// wait waits for a token, bounded by ctx.
func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
