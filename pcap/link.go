package pcap

import "encoding/binary"

// netLayer strips the link-layer header of a frame and returns the network-layer bytes with the IP
// version they carry (4 or 6), or version 0 when the frame is not IP or too short to tell.
func netLayer(link uint32, b []byte) ([]byte, int) {
	switch link {
	case LinkEthernet:
		if len(b) < 14 {
			return nil, 0
		}
		et, off := binary.BigEndian.Uint16(b[12:14]), 14
		// 802.1Q, 802.1ad and the old QinQ tag: each adds 4 bytes before the real EtherType.
		for i := 0; i < 3 && (et == 0x8100 || et == 0x88a8 || et == 0x9100); i++ {
			if len(b) < off+4 {
				return nil, 0
			}
			et, off = binary.BigEndian.Uint16(b[off+2:off+4]), off+4
		}
		return byEtherType(et, b[off:])
	case LinkLinuxSLL:
		if len(b) < 16 {
			return nil, 0
		}
		return byEtherType(binary.BigEndian.Uint16(b[14:16]), b[16:])
	case LinkLinuxSLL2:
		if len(b) < 20 {
			return nil, 0
		}
		return byEtherType(binary.BigEndian.Uint16(b[0:2]), b[20:])
	case LinkNull:
		if len(b) < 4 {
			return nil, 0
		}
		// Host byte order of the machine that captured: try both.
		fam := binary.LittleEndian.Uint32(b[0:4])
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(b[0:4])
		}
		return byFamily(fam, b[4:])
	case LinkLoop:
		if len(b) < 4 {
			return nil, 0
		}
		return byFamily(binary.BigEndian.Uint32(b[0:4]), b[4:])
	case LinkRaw, linkRawBSD12, linkRawBSD14:
		if len(b) < 1 {
			return nil, 0
		}
		switch b[0] >> 4 {
		case 4:
			return b, 4
		case 6:
			return b, 6
		}
		return nil, 0
	case LinkIPv4:
		return b, 4
	case LinkIPv6:
		return b, 6
	}
	return nil, 0
}

func byEtherType(et uint16, b []byte) ([]byte, int) {
	switch et {
	case 0x0800:
		return b, 4
	case 0x86dd:
		return b, 6
	}
	return nil, 0
}

// byFamily maps a BSD address family to an IP version: AF_INET is 2 everywhere, AF_INET6 is 24
// (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS).
func byFamily(fam uint32, b []byte) ([]byte, int) {
	switch fam {
	case 2:
		return b, 4
	case 24, 28, 30:
		return b, 6
	}
	return nil, 0
}
