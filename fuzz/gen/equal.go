package gen

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/mqttspec/mqttspec/codec"
)

// Diff compares two packets field by field and returns "" when they are equal, else the
// differing fields ("Publish.Topic: "a" != "b""). A nil slice equals an empty one; property
// presence counts (a property present with value 0 differs from an absent one).
func Diff(want, got codec.Packet) string {
	if want == nil || got == nil {
		if want == nil && got == nil {
			return ""
		}
		return fmt.Sprintf("packet: %v != %v", want, got)
	}
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	if wv.Type() != gv.Type() {
		return fmt.Sprintf("type: %v != %v", want.Type(), got.Type())
	}
	var diffs []string
	diffValue(&diffs, wv.Type().Elem().Name(), wv.Elem(), gv.Elem())
	if len(diffs) > 4 {
		diffs = append(diffs[:4], fmt.Sprintf("and %d more", len(diffs)-4))
	}
	return strings.Join(diffs, "; ")
}

func diffValue(diffs *[]string, path string, a, b reflect.Value) {
	if len(*diffs) > 16 {
		return
	}
	switch a.Kind() {
	case reflect.Struct:
		if a.Type() == propsType {
			// Presence decides; the value of an absent property means nothing.
			pa, pb := a.Interface().(codec.Properties), b.Interface().(codec.Properties)
			for _, id := range codec.PropIDs() {
				switch {
				case pa.Has(id) != pb.Has(id):
					*diffs = append(*diffs, fmt.Sprintf("%s: %v present %t != %t", path, id, pa.Has(id), pb.Has(id)))
				case pa.Has(id):
					f := propFields[id]
					diffValue(diffs, path+"."+f, a.FieldByName(f), b.FieldByName(f))
				}
			}
			return
		}
		for i := 0; i < a.NumField(); i++ {
			diffValue(diffs, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	case reflect.Slice:
		if a.Len() != b.Len() {
			*diffs = append(*diffs, fmt.Sprintf("%s: %d elements != %d", path, a.Len(), b.Len()))
			return
		}
		if a.Type().Elem().Kind() == reflect.Uint8 {
			if !reflect.DeepEqual(a.Bytes(), b.Bytes()) && (a.Len() > 0 || b.Len() > 0) {
				*diffs = append(*diffs, fmt.Sprintf("%s: %x != %x", path, a.Bytes(), b.Bytes()))
			}
			return
		}
		for i := 0; i < a.Len(); i++ {
			diffValue(diffs, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	case reflect.String:
		if a.String() != b.String() {
			*diffs = append(*diffs, fmt.Sprintf("%s: %q != %q", path, short(a.String()), short(b.String())))
		}
	case reflect.Bool:
		if a.Bool() != b.Bool() {
			*diffs = append(*diffs, fmt.Sprintf("%s: %t != %t", path, a.Bool(), b.Bool()))
		}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if a.Uint() != b.Uint() {
			*diffs = append(*diffs, fmt.Sprintf("%s: %d != %d", path, a.Uint(), b.Uint()))
		}
	default:
		*diffs = append(*diffs, fmt.Sprintf("%s: cannot compare %v", path, a.Kind()))
	}
}

var propsType = reflect.TypeOf(codec.Properties{})

// propFields names the codec.Properties field holding each property.
var propFields = map[codec.PropID]string{
	codec.PropPayloadFormat: "PayloadFormat", codec.PropMessageExpiry: "MessageExpiry",
	codec.PropContentType: "ContentType", codec.PropResponseTopic: "ResponseTopic",
	codec.PropCorrelationData: "CorrelationData", codec.PropSubscriptionID: "SubscriptionIDs",
	codec.PropSessionExpiry: "SessionExpiry", codec.PropAssignedClientID: "AssignedClientID",
	codec.PropServerKeepAlive: "ServerKeepAlive", codec.PropAuthMethod: "AuthMethod",
	codec.PropAuthData: "AuthData", codec.PropRequestProblemInfo: "RequestProblemInfo",
	codec.PropWillDelay: "WillDelay", codec.PropRequestResponseInfo: "RequestResponseInfo",
	codec.PropResponseInfo: "ResponseInfo", codec.PropServerReference: "ServerReference",
	codec.PropReasonString: "ReasonString", codec.PropReceiveMaximum: "ReceiveMaximum",
	codec.PropTopicAliasMaximum: "TopicAliasMaximum", codec.PropTopicAlias: "TopicAlias",
	codec.PropMaximumQoS: "MaximumQoS", codec.PropRetainAvailable: "RetainAvailable",
	codec.PropUserProperty: "User", codec.PropMaximumPacketSize: "MaximumPacketSize",
	codec.PropWildcardSubAvailable: "WildcardSubAvailable", codec.PropSubIDAvailable: "SubIDAvailable",
	codec.PropSharedSubAvailable: "SharedSubAvailable",
}

func short(s string) string {
	if len(s) > 40 {
		return s[:37] + "…"
	}
	return s
}
