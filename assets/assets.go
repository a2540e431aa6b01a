// Package assets holds Parlo's bundled artwork. Icon.svg is the hand-written
// source; Icon.png is rendered from it with
//
//	rsvg-convert -w 512 -h 512 assets/Icon.svg -o assets/Icon.png
//
// (Debian package librsvg2-bin).
package assets

import _ "embed"

// IconPNG is the 512x512 application icon.
//
//go:embed Icon.png
var IconPNG []byte

// IconSVG is the icon's vector source.
//
//go:embed Icon.svg
var IconSVG []byte

// IconSharingPNG is the tray icon while a screen is shared: the app icon
// with a red dot (rendered from IconSharing.svg at 256x256 the same way).
//
//go:embed IconSharing.png
var IconSharingPNG []byte
