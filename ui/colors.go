package ui

import "image/color"

// withAlpha returns c with alpha a (for tinted backgrounds).
func withAlpha(c color.Color, a uint8) color.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	n.A = a
	return n
}
