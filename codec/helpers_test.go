package codec_test

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/mqttspec/mqttspec/codec"
)

// hx parses a byte vector written as hex with any spacing and "|" separators between fields,
// e.g. "10 1E | 00 04 4D 51 54 54".
func hx(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.NewReplacer(" ", "", "|", "", "\n", "", "\t", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex vector %q: %v", s, err)
	}
	return b
}

var versions = []codec.Version{codec.V31, codec.V311, codec.V5}

// canon returns a deep copy of p in which every empty slice is nil. A reused Decoder keeps the
// capacity of its slices, so an absent list comes back as an empty non-nil slice; canon makes
// such packets comparable with reflect.DeepEqual. Unexported fields (the property presence bits)
// are copied too, so they still take part in the comparison.
func canon(p codec.Packet) codec.Packet {
	if p == nil {
		return nil
	}
	v := reflect.ValueOf(p)
	out := reflect.New(v.Elem().Type())
	canonValue(out.Elem(), v.Elem())
	return out.Interface().(codec.Packet)
}

func canonValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Struct:
		for i := 0; i < src.NumField(); i++ {
			df := dst.Field(i)
			if !df.CanSet() {
				// Unexported scalar (presence bits): copy through an addressable alias.
				df = reflect.NewAt(df.Type(), df.Addr().UnsafePointer()).Elem()
			}
			sf := src.Field(i)
			if !sf.CanInterface() {
				// src is always addressable here: it is reached through a pointer or a slice.
				sf = reflect.NewAt(sf.Type(), unsafe.Pointer(sf.UnsafeAddr())).Elem()
			}
			canonValue(df, sf)
		}
	case reflect.Slice:
		if src.Len() == 0 {
			dst.Set(reflect.Zero(src.Type()))
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			canonValue(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	default:
		dst.Set(src)
	}
}

// equalPacket reports whether a and b are the same packet up to nil versus empty slices.
func equalPacket(a, b codec.Packet) bool { return reflect.DeepEqual(canon(a), canon(b)) }

// mustEncode encodes p for v or fails the test.
func mustEncode(t testing.TB, p codec.Packet, v codec.Version) []byte {
	t.Helper()
	b, err := codec.Encode(p, v)
	if err != nil {
		t.Fatalf("encode %v for %v: %v", p, v, err)
	}
	return b
}

// asCodecError returns err as a *codec.Error, or nil when it is nil or of another type.
func asCodecError(t testing.TB, err error) *codec.Error {
	t.Helper()
	var e *codec.Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
