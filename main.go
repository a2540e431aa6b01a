// Command parlo is a SIP softphone. `parlo` starts the desktop GUI;
// `parlo headless [flags]` runs the same phone driven by JSON lines on
// stdin/stdout (see headless/README.md).
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parlo-voip/parlo/headless"
	"github.com/parlo-voip/parlo/internal/calllink"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		return runGUI(nil)
	}
	switch args[0] {
	case "headless":
		return headless.Main(args[1:], os.Stdin, os.Stdout, os.Stderr)
	case "help", "-h", "-help", "--help":
		usage(os.Stdout)
		return 0
	default:
		if strings.HasPrefix(args[0], "-") || calllink.IsLink(args[0]) {
			return runGUI(args) // flags of the desktop app, or a call link
		}
		fmt.Fprintf(os.Stderr, "parlo: unknown command %q\n", args[0])
		usage(os.Stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage:\n  parlo [--listen udp:IP:PORT] [--debug] [LINK]   start the desktop phone; LINK (sip:, sips:, tel:, callto:) is offered for dialling, in the running Parlo if there is one\n  parlo headless [flags]    JSON lines on stdin/stdout (parlo headless -h for the flags)")
}
