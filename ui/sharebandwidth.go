package ui

import "fmt"

// shareBandwidths are the share bitrate caps the settings offer, in kbit/s;
// 0 is automatic (the path's estimate alone decides).
var shareBandwidths = []int{0, 2500, 1000, 500}

// shareBandwidthLabel names a cap as the settings show it.
func shareBandwidthLabel(kbps int) string {
	switch {
	case kbps <= 0:
		return "Automatic"
	case kbps%1000 == 0:
		return fmt.Sprintf("At most %d Mbit/s", kbps/1000)
	case kbps > 1000:
		return fmt.Sprintf("At most %.1f Mbit/s", float64(kbps)/1000)
	default:
		return fmt.Sprintf("At most %d kbit/s", kbps)
	}
}

// shareBandwidthLabels lists the choices, automatic first.
func shareBandwidthLabels() []string {
	out := make([]string, len(shareBandwidths))
	for i, k := range shareBandwidths {
		out[i] = shareBandwidthLabel(k)
	}
	return out
}

// shareBandwidthKbps is the cap a label names (0 for automatic or an
// unknown label).
func shareBandwidthKbps(label string) int {
	for _, k := range shareBandwidths {
		if shareBandwidthLabel(k) == label {
			return k
		}
	}
	return 0
}
