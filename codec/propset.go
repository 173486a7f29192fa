package codec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors a PropertyError wraps when the text is not a value of the property's data type. A value
// of the right type that the specification forbids (a Topic Alias of 0, a Response Topic with a
// wildcard, U+0000 in a string) is a *Error carrying the rule instead.
var (
	ErrPropertyValueCount = errors.New("wrong number of values")
	ErrPropertyNotNumber  = errors.New("not a decimal number")
	ErrPropertyTooLarge   = errors.New("too large for the property's data type")
	ErrUnknownProperty    = errors.New("unknown property")
)

// PropertyError is a text Properties.SetText cannot turn into a value of the property.
type PropertyError struct {
	Prop   PropID
	Values []string // the text given
	Err    error    // one of the ErrProperty… errors, or a *Error naming the rule the value breaks
}

// Error renders as `Receive Maximum "many": not a decimal number`.
func (e *PropertyError) Error() string {
	q := make([]string, len(e.Values))
	for i, v := range e.Values {
		q[i] = strconv.Quote(v)
	}
	return fmt.Sprintf("%s %s: %v", e.Prop, strings.Join(q, " "), e.Err)
}

// Unwrap gives errors.Is and errors.As the reason.
func (e *PropertyError) Unwrap() error { return e.Err }

// integer limits of the numeric kinds, for parsing and for the "too large" message.
var kindMax = [...]uint64{KindByte: 0xFF, KindUint16: 0xFFFF, KindUint32: 0xFFFFFFFF, KindVarint: MaxVarint}

// SetText sets property id from its text form, the way a command line spells a value, and marks
// it present: integers in decimal; strings as given; Binary Data as the bytes of the text; User
// Property as two values, name and value, added to those already there. Every other property
// takes one value and replaces what it held (a Subscription Identifier becomes the only one).
// SetText refuses values the decoder would refuse, so p encodes into a packet a strict receiver
// accepts; whether the property belongs in that packet is AllowedFrom's question.
func (p *Properties) SetText(id PropID, values ...string) error {
	kind := id.Kind()
	if kind == kindNone {
		return &PropertyError{Prop: id, Values: values, Err: ErrUnknownProperty}
	}
	fail := func(err error) error { return &PropertyError{Prop: id, Values: values, Err: err} }
	want := 1
	if kind == KindPair {
		want = 2
	}
	if len(values) != want {
		return fail(fmt.Errorf("%w: %s takes %d, got %d", ErrPropertyValueCount, kind, want, len(values)))
	}
	info := &propTable[id]
	switch kind {
	case KindByte, KindUint16, KindUint32, KindVarint:
		v, err := parseKind(values[0], kind)
		if err != nil {
			return fail(err)
		}
		if r, section, detail := valueRule(id, info, v); r != nil {
			return fail(textError(r, section, detail))
		}
		if kind == KindVarint {
			p.SubscriptionIDs = []uint32{v}
			return nil
		}
		p.setNumeric(id, v)
	case KindString:
		if err := checkText(values[0]); err != nil {
			return fail(err)
		}
		if r, detail := stringRule(id, values[0]); r != nil {
			return fail(textError(r, "", detail))
		}
		*p.strPtr(id) = values[0]
	case KindBinary:
		if len(values[0]) > 65535 {
			return fail(fmt.Errorf("%w: %d bytes, at most 65535", ErrPropertyTooLarge, len(values[0])))
		}
		*p.binPtr(id) = []byte(values[0])
	case KindPair:
		for _, s := range values {
			if err := checkText(s); err != nil {
				return fail(err)
			}
		}
		p.AddUser(values[0], values[1])
		return nil
	}
	p.Set(id)
	return nil
}

// parseKind parses a decimal integer that fits the numeric kind.
func parseKind(s string, kind PropKind) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange), err == nil && v > kindMax[kind]:
		return 0, fmt.Errorf("%w: a %s is at most %d", ErrPropertyTooLarge, kind, kindMax[kind])
	case err != nil:
		return 0, ErrPropertyNotNumber
	}
	return uint32(v), nil
}

// checkText checks a string value as the decoder checks an MQTT UTF-8 string.
func checkText(s string) error {
	if len(s) > 65535 {
		return fmt.Errorf("%w: %d bytes, at most 65535", ErrPropertyTooLarge, len(s))
	}
	if r, _, detail := utf8Rule([]byte(s)); r != nil {
		return textError(r, "", detail)
	}
	return nil
}

// textError is the *Error of a rule broken by a value given as text: no packet, no offset (the
// PropertyError around it names the property).
func textError(r *Rule, section, detail string) *Error {
	e := newError(r, V5, 0, "", -1, detail)
	if section != "" {
		e.Section = section
	}
	return e
}
