package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mqttspec/mqttspec/codec"
)

func init() {
	var version string
	var lenient bool
	var sender string
	cmd := &cobra.Command{
		Use:   "decode [HEX]",
		Short: "Decode MQTT packets from a hex string (or stdin) and print them",
		Long: `Decode one or more concatenated MQTT control packets given as hex (spaces, colons and a 0x
prefix are ignored) and print each in readable form. Strict by default: a violation is reported
with the normative statement it breaks. --lenient keeps going and lists the violations.`,
		Example: `  mqttspec decode 300a0003612f6268656c6c6f
  mqttspec decode -V 5 --lenient "36 03 00 01 61"
  echo 3000 | mqttspec decode -`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := codec.VersionUnknown
			if version != "" {
				var err error
				if v, err = codec.ParseVersion(version); err != nil {
					return failWith(exitUsage, err)
				}
			}
			var side codec.Side
			switch sender {
			case "":
			case "client":
				side = codec.SideClient
			case "server":
				side = codec.SideServer
			default:
				return failWith(exitUsage, fmt.Errorf("--sender must be client or server, not %q", sender))
			}
			var text string
			if len(args) == 0 || args[0] == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<20))
				if err != nil {
					return failWith(exitUsage, fmt.Errorf("read stdin: %w", err))
				}
				text = string(b)
			} else {
				text = args[0]
			}
			raw, err := parseHex(text)
			if err != nil {
				return failWith(exitUsage, err)
			}
			if len(raw) == 0 {
				return failWith(exitUsage, errors.New("no bytes to decode"))
			}
			return decodeAll(cmd.OutOrStdout(), raw, codec.Options{Version: v, Lenient: lenient, Sender: side})
		},
	}
	cmd.Flags().StringVarP(&version, "version", "V", "", "protocol version: 3.1, 3.1.1 or 5 (default: learnt from CONNECT, else 3.1.1)")
	cmd.Flags().BoolVar(&lenient, "lenient", false, "decode past violations and list them")
	cmd.Flags().StringVar(&sender, "sender", "", "who sent the bytes (client|server), enables direction rules")
	rootCmd.AddCommand(cmd)
}

// parseHex accepts hex with optional 0x prefixes, whitespace, colons and dashes.
func parseHex(s string) ([]byte, error) {
	s = strings.ReplaceAll(s, "0x", "")
	s = strings.ReplaceAll(s, "0X", "")
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', ':', '-', ',':
			return -1
		}
		return r
	}, s)
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("input is not hex: %w", err)
	}
	return b, nil
}

func decodeAll(w io.Writer, raw []byte, o codec.Options) error {
	dec := &codec.Decoder{Options: o}
	failed := false
	for off := 0; off < len(raw); {
		p, n, err := dec.Decode(raw[off:])
		if errors.Is(err, codec.ErrShort) {
			return failWith(exitFailures, fmt.Errorf("offset %d: %d bytes left, packet incomplete", off, len(raw)-off))
		}
		if err != nil {
			fmt.Fprintf(w, "%6d  ERROR %v\n", off, err)
			failed = true
			if n == 0 {
				break
			}
			off += n
			continue
		}
		fmt.Fprintf(w, "%6d  [%s] %s\n", off, dec.Version, p)
		for _, v := range dec.Violations {
			fmt.Fprintf(w, "        violation: %v\n", &v)
		}
		off += n
	}
	if failed {
		return failWith(exitFailures, errors.New("input contains invalid packets"))
	}
	return nil
}
